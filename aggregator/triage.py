"""Pure triage rules applied at ingestion: is this a question, which topics does it touch.

No I/O, no network, no model: each function looks only at its arguments, so the rules can be
tested on a table of cases and run inside the queue's event loop without blocking it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from .queue import Assessment

_QUESTION_MARKS = ("?", "？", "؟", ";")  # ";" is the Greek question mark
_INTERROGATIVE = re.compile(
    r"^(who|what|when|where|why|how|which|whose|whom|is|are|was|were|do|does|did|can|could|"
    r"will|would|should|shall|may|might|have|has|had)\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"\b(can you (explain|tell|share|talk)|please (tell|explain|share)|i'?d like to know|"
    r"i (want|would like) to know|i wonder|wondering)\b",
    re.IGNORECASE,
)


def normalise(text: str) -> str:
    """Casefolded, accent-free, single-spaced: the form keyword and similarity rules compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def likely_question(text: str) -> float:
    """0..1: how likely `text` is a question for the host rather than chatter."""
    body = text.strip()
    if not body:
        return 0.0
    score = 0.1
    if body.rstrip().endswith(_QUESTION_MARKS) or "?" in body:
        score += 0.5
    if _INTERROGATIVE.match(body) or re.match(r"^q\s*[:.]", body, re.IGNORECASE):
        score += 0.25
    if _REQUEST.search(body):
        score += 0.35
    words = len(body.split())
    if words < 3:
        score -= 0.15
    elif words >= 8:
        score += 0.1
    return round(min(max(score, 0.0), 1.0), 3)


def topic_tags(text: str, topics: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The topics whose keywords occur in `text` as whole words (case- and accent-blind)."""
    plain = normalise(text)
    found = []
    for topic, keywords in topics.items():
        for keyword in keywords:
            key = normalise(keyword)
            if key and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", plain):
                found.append(topic)
                break
    return tuple(found)


class Rules:
    """The triage rules configured by `[triage]`, as the queue's Triage."""

    def __init__(self, topics: Mapping[str, Sequence[str]] | None = None) -> None:
        self.topics = dict(topics or {})

    def assess(self, text: str, source: str) -> Assessment:
        return Assessment(likely_question(text), topic_tags(text, self.topics))
