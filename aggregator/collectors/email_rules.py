"""Which mails count as questions: subject rules and the auto-reply/bounce filter.

Pure functions over decoded header values, so the rules live and are tested in one place (a
table of cases in tests/unit/test_email_rules.py). The phrases themselves come from `[email]`
`subject_include` / `subject_exclude`.

Decisions written down here:
- Matching is on a normalised subject: NFKC, casefolded, whitespace collapsed, leading reply and
  forward prefixes (`Re:`, `Fwd:`, `AW:`, `WG:` and their usual variants, also `Re[2]:`) and
  `[list]` tags removed, repeatedly, in any order.
- The exclude list is applied first; then an include phrase must occur on word boundaries
  (`question for maggie` matches "Question for Maggie: budget", not "questions for maggie2").
- A reply (`Re:`-style prefix) is a follow-up in someone's thread, not a new question, unless
  `include_replies = true`. A forward (`Fwd:`/`WG:`) is someone passing a question on, so it is
  treated like a fresh mail.
- Auto-generated mail is skipped: `Auto-Submitted` other than `no`, `Precedence`
  bulk/junk/list, `X-Autoreply` / `X-Autorespond`, and `multipart/report` (bounces, DSNs).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_REPLY_PREFIXES = ("re", "aw", "sv", "antw", "odp", "vs", "ynt", "r", "rif", "res")
_FORWARD_PREFIXES = ("fwd", "fw", "wg", "tr", "enc", "rv", "vl", "i")
_PREFIX = re.compile(
    r"^\s*(?:(?P<tag>\[[^\]]*\])|(?P<word>[^\W\d_]{1,4})\s*(?:\[\d+\]|\(\d+\))?\s*:)\s*"
)
_SPACE = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@dataclass(frozen=True)
class Subject:
    """A subject with its prefixes and tags removed; `text` keeps the sender's case."""

    text: str  # NFKC, single-spaced, prefixes removed, original case (for display/remainder)
    key: str  # `text` casefolded: what the rules compare
    is_reply: bool
    is_forward: bool


def normalise_subject(raw: str) -> Subject:
    """Strip reply/forward prefixes and [list] tags, repeatedly, and fold for matching."""
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", raw or "")).strip()
    is_reply = is_forward = False
    for _ in range(20):  # bounded: a hostile subject may repeat "Re: " thousands of times
        match = _PREFIX.match(text)
        if not match:
            break
        word = (match.group("word") or "").casefold()
        if word:
            if word in _REPLY_PREFIXES:
                is_reply = True
            elif word in _FORWARD_PREFIXES:
                is_forward = True
            else:
                break  # "Q: ...", "Idea: ..." are part of the subject, not a prefix
        text = text[match.end():]
    return Subject(text=text, key=_fold(text), is_reply=is_reply, is_forward=is_forward)


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """`phrase` on word boundaries, whitespace-tolerant, over the folded subject."""
    words = [re.escape(w) for w in _fold(phrase).split(" ") if w]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str  # why it was accepted or skipped, for logs and meta
    remainder: str = ""  # what follows the include phrase in the subject (original case)


class SubjectRules:
    """The `[email]` subject rules; `check(subject)` returns a Verdict."""

    def __init__(self, include: Sequence[str], exclude: Sequence[str] = (),
                 include_replies: bool = False) -> None:
        self.include = [(p, _phrase_pattern(p)) for p in include if _fold(p)]
        self.exclude = [(p, _phrase_pattern(p)) for p in exclude if _fold(p)]
        self.include_replies = include_replies

    def check(self, raw_subject: str) -> Verdict:
        subject = normalise_subject(raw_subject)
        for phrase, pattern in self.exclude:
            if pattern.search(subject.key):
                return Verdict(False, f"subject excluded by {phrase!r}")
        if subject.is_reply and not self.include_replies:
            return Verdict(False, "a reply in a thread (include_replies = false)")
        for phrase, pattern in self.include:
            if pattern.search(subject.key):
                return Verdict(True, f"subject includes {phrase!r}",
                               _remainder(subject.text, phrase))
        return Verdict(False, "subject matches no include phrase")


def _remainder(text: str, phrase: str) -> str:
    """The words after `phrase` in the subject, e.g. 'Question for Maggie: X?' -> 'X?'."""
    words = [re.escape(w) for w in phrase.split() if w]
    match = re.search(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", text, re.IGNORECASE)
    if not match:
        return ""
    return text[match.end():].lstrip(" :-–—,.|").strip()


def auto_generated(header: Callable[[str], str | None], content_type: str) -> str | None:
    """Why this mail is machine-generated (auto-reply, bounce, list traffic), or None.

    `header(name)` returns a decoded header value or None; `content_type` is the top-level type.
    """
    auto = (header("Auto-Submitted") or "").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto[:40]}"
    precedence = (header("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if header(name) is not None:
            return f"{name} header"
    if content_type.lower() == "multipart/report":
        return "a delivery report (bounce)"
    return None
