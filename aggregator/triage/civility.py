"""Incivility: insults from a word list, shouting in capitals, repeated insults -> `uncivil`.

The flag is information for the moderator, never an action: nothing is dismissed because of
it (the host "will not take disrespectful questions", but a person decides what that means).

- Insults: words or phrases from `[triage] uncivil_words` (a short English default below),
  matched as whole words after normalising, so "IDIOT", "Idiots!" and "stuuupid" all count, and
  letters spaced out to dodge a filter ("i d i o t") are joined first.
- Shouting: a line of at least four words and twelve letters that is nearly all capitals.
  Scripts without case (Arabic, Devanagari, CJK) can never shout.
- Repeated insults: `Incivility.insults` counts every hit, so "idiot idiot IDIOT" or three
  different insults are one flag with a count of 3. One listed word is already enough for the
  flag (the list is meant to hold only words that are insults in a meeting's chat); the count
  is there for callers that want a stronger signal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from .text import normalise, squeeze, whole_words

#: The built-in list, replaced (not extended) by `[triage] uncivil_words`.
DEFAULT_UNCIVIL_WORDS = (
    "idiot", "idiots", "idiotic", "stupid", "moron", "morons", "dumb", "imbecile", "liar", "liars",
    "pathetic", "clown", "clowns", "loser", "losers", "scum", "hypocrite", "hypocrites",
    "incompetent", "disgrace", "disgraceful", "shut up", "shame on you", "screw you", "fool",
    "fools", "bastard", "bastards", "crook", "crooks", "parasite", "parasites",
)

SHOUT_MIN_WORDS = 4
SHOUT_MIN_LETTERS = 12
SHOUT_RATIO = 0.85
_SPACED = re.compile(r"(?<!\w)(?:\w[ .*_-]){3,}\w(?!\w)")  # "i d i o t", "s.t.u.p.i.d"


class Incivility(NamedTuple):
    insults: int
    shouting: bool

    @property
    def uncivil(self) -> bool:
        return self.insults > 0 or self.shouting


def compile_words(words: Iterable[str]) -> re.Pattern[str] | None:
    """One whole-word pattern for the insult list (None when the list is empty)."""
    return whole_words(squeeze(normalise(w)) for w in words if normalise(w))


_DEFAULT = compile_words(DEFAULT_UNCIVIL_WORDS)


def is_shouting(text: str) -> bool:
    cased = [ch for ch in text if ch.isupper() or ch.islower()]
    if len(text.split()) < SHOUT_MIN_WORDS or len(cased) < SHOUT_MIN_LETTERS:
        return False
    return sum(ch.isupper() for ch in cased) / len(cased) >= SHOUT_RATIO


def assess_civility(text: str, words: re.Pattern[str] | None = _DEFAULT) -> Incivility:
    """Insults counted in `text` (by the compiled word list) and whether it shouts."""
    insults = 0
    if words is not None:
        plain = _SPACED.sub(lambda m: re.sub(r"[ .*_-]", "", m.group()), normalise(text))
        plain = " ".join(squeeze(w) for w in plain.split())
        insults = len(words.findall(plain))
    return Incivility(insults, is_shouting(text))
