"""The detail pane: everything about the question under the cursor.

Built as one `Content` from plain-text parts and our own styles, so nothing a user wrote is ever
parsed as markup. The history comes from `client.history()` (it is not part of the live
question), fetched by the screen when the cursor settles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from aggregator.model import HistoryEntry, Question

from ..timefmt import local_when
from .rows import SOURCE_LABELS, clip, one_line

RAW_BODY_KEYS = ("raw_body", "raw", "body_raw")
SHOWN_ELSEWHERE = {"subject", *RAW_BODY_KEYS}
LABEL = "bold $accent"


def raw_body(q: Question) -> str | None:
    for key in RAW_BODY_KEYS:
        value = q.meta.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _field(label: str, value: object) -> tuple[tuple[str, str], str, str]:
    return ((f"{label}: ", LABEL), one_line(str(value), 400), "\n")


def detail_content(q: Question, questions: Mapping[int, Question], *, show_raw: bool,
                   history: list[HistoryEntry] | None, now: datetime | None = None) -> Content:
    """Everything about `q`; times local and relative to `now` (none: local time alone)."""
    parts: list[Any] = [
        (f"#{q.id}", "bold"), "  ", (SOURCE_LABELS.get(q.source, q.source), "italic"),
        "  ", (str(q.status), "reverse"), "\n\n",
    ]
    subject = q.meta.get("subject")
    if isinstance(subject, str) and subject:
        parts += _field("Subject", subject)
    body = raw_body(q)
    if show_raw and body is not None:
        parts += [("Raw body (v: cleaned text)\n", LABEL), body, "\n\n"]
    elif q.edited_text:
        parts += [("Edited wording\n", LABEL), q.edited_text, "\n\n",
                  ("Original\n", LABEL), (q.text, "dim"), "\n\n"]
    else:
        parts += [("Text\n", LABEL), q.text or "(empty)", "\n\n"]
    if body is not None and not show_raw:
        parts += [("(v: show the raw email body)", "dim italic"), "\n\n"]
    parts += _field("Author", q.author.name)
    parts += _field("Author id", f"{q.source}:{q.author.id}")
    if q.author.email:
        parts += _field("Email", q.author.email)
    if q.author.url:
        parts += _field("URL", q.author.url)
    if len(q.askers) > 1:
        parts += _field("Also asked by", ", ".join(a.name for a in q.askers[1:][:20]))
    parts += _field("Sent", local_when(q.sent_at, now) if q.sent_at else "?")
    parts += _field("Received", local_when(q.received_at, now))
    parts += _field("Likely a question", f"{q.likely_question:.2f}")
    optional = {"Dismissed because": q.dismiss_reason, "Host list position":
                None if q.rank is None else q.rank + 1, "Tags": ", ".join(q.tags) or None,
                "Assigned to": q.assignee, "Note": q.note, "Merged into":
                None if q.merged_into is None else f"#{q.merged_into}",
                "Flags": ", ".join(q.flags) or None}
    for label, value in optional.items():
        if value is not None:
            parts += _field(label, value)
    for key, value in sorted(q.meta.items()):
        if key not in SHOWN_ELSEWHERE and isinstance(value, (str, int, float)):
            parts += _field(key.replace("_", " ").capitalize(), value)
    if q.similar:
        parts += ["\n", ("Similar questions (m merges)\n", LABEL)]
        for qid, score in ((h.id, h.score) for h in q.similar):
            other = questions.get(qid)
            text = clip(other.display_text, 80) if other else "(not loaded)"
            parts += [(f"#{qid} ", "bold"), (f"{score:.0%} ", "dim"), text, "\n"]
    parts += ["\n", ("History\n", LABEL)]
    if history is None:
        parts += [("loading…", "dim"), "\n"]
    for entry in history or []:
        detail = ", ".join(f"{k}={one_line(str(v), 60)}" for k, v in entry.detail.items())
        parts += [(local_when(entry.at, now) if entry.at else "", "dim"), " ", entry.actor, " ",
                  (entry.action, "bold"), " ", detail, "\n"]
    return Content.assemble(*parts)


class DetailPane(VerticalScroll, can_focus=False):
    """Shows one question; the screen calls `show()` when the cursor or the question changes."""

    def __init__(self, clock: Callable[[], datetime] | None = None, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.body = Static(Content("No question selected."), markup=False, id="detail-body")
        self.show_raw = False
        self.plain = ""  # what is shown, as text (tests, and a copy command later)

    def compose(self):  # type: ignore[override]
        yield self.body

    def show(self, q: Question | None, questions: Mapping[int, Question],
             history: list[HistoryEntry] | None) -> None:
        content = (Content("No question selected.") if q is None else
                   detail_content(q, questions, show_raw=self.show_raw, history=history,
                                  now=self.clock() if self.clock is not None else None))
        self.plain = content.plain
        self.body.update(content)
