"""Topic tags from the `[triage] topics` keyword rules, applied once at ingestion.

Keywords match whole words or phrases, blind to case and Latin accents ("Wikimania" finds
"wikimanía"); the moderator can replace the tags later with the `tag` command, and those edits
are never overwritten (rules run only when a message arrives).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from .text import normalise, whole_words


def compile_topics(topics: Mapping[str, Sequence[str]]) -> list[tuple[str, re.Pattern[str]]]:
    """One pattern per topic (alternation of its keywords), skipping topics with no keyword."""
    compiled = []
    for topic, keywords in topics.items():
        pattern = whole_words(normalise(k) for k in keywords if normalise(k))
        if pattern is not None:
            compiled.append((topic, pattern))
    return compiled


def topic_tags(text: str, topics: Mapping[str, Sequence[str]]
               | Sequence[tuple[str, re.Pattern[str]]]) -> tuple[str, ...]:
    """The topics whose keywords occur in `text` as whole words, in configuration order."""
    patterns = compile_topics(topics) if isinstance(topics, Mapping) else topics
    plain = normalise(text)
    return tuple(topic for topic, pattern in patterns if pattern.search(plain))
