"""The normalised forms of chat text that every triage rule compares.

One place decides what "the same words" means (case, accents, punctuation, repeated letters), so
topic keywords, insult words and duplicate hints agree with each other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_WORD = re.compile(r"\w+(?:['’]\w+)*")
_LONG_RUN = re.compile(r"(\w)\1{2,}")  # "stuuupid", "sooo" -> one letter


@lru_cache(maxsize=512)
def normalise(text: str) -> str:
    """Casefolded, accent-free, single-spaced: the form keyword and similarity rules compare.

    Accents are dropped only from Latin-like letters: in Devanagari and Arabic the combining
    marks carry meaning (vowel signs), so they stay.

    Cached: at ingestion every rule (question score, topics, civility, duplicate key) asks for
    the same text's form, and the per-character loop is the costliest step of triage.
    """
    if text.isascii():  # no accents to drop and nothing to compose: the cheap path
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = []
    for ch in decomposed:
        if unicodedata.combining(ch) and kept and kept[-1] < "\u0250":
            continue
        kept.append(ch)
    return unicodedata.normalize("NFC", " ".join("".join(kept).split()))


def words(text: str) -> list[str]:
    """The words of `normalise(text)`, apostrophes kept inside words ("what's")."""
    return _WORD.findall(normalise(text))


def squeezed_words(text: str) -> list[str]:
    """`[squeeze(w) for w in words(text)]`, in one pass: a run of equal letters never crosses
    a non-word character, so squeezing the whole text first gives the same words."""
    return _WORD.findall(_LONG_RUN.sub(r"\1", normalise(text)))


def whole_words(keys: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for any of `keys` as whole words, longest first (a phrase wins over its
    first word); None when there are no keys."""
    ordered = sorted(set(keys), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(k) for k in ordered)})(?!\w)")


def squeeze(word: str) -> str:
    """`word` with runs of three or more equal letters cut to one (shouted elongation)."""
    return _LONG_RUN.sub(r"\1", word)
