"""`Rules`: the triage rules configured by `[triage]`, as the queue's `Triage`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from .civility import DEFAULT_UNCIVIL_WORDS, assess_civility, compile_words
from .question import likely_question
from .topics import compile_topics, topic_tags


class Assessment(NamedTuple):
    """What the rules say about one incoming text (the queue stores it on the question)."""

    likely_question: float
    tags: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


class Rules:
    """Likely-question score, topic tags and the `uncivil` flag for each incoming text.

    `uncivil_words=None` uses the built-in English list; an empty list turns word matching off
    (shouting is still flagged).
    """

    def __init__(self, topics: Mapping[str, Sequence[str]] | None = None, *,
                 uncivil_words: Iterable[str] | None = None) -> None:
        self._topics = compile_topics(topics or {})
        self._insults = compile_words(DEFAULT_UNCIVIL_WORDS if uncivil_words is None
                                      else uncivil_words)

    def assess(self, text: str, source: str) -> Assessment:
        flags = ("uncivil",) if assess_civility(text, self._insults).uncivil else ()
        return Assessment(likely_question(text), topic_tags(text, self._topics), flags)
