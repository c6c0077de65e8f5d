"""When each question went live and was answered.

The notes page lists answered questions in the order they were answered, links each to the
second it went live, and the summary gives the median time from arrival to answer. The
question's own `answered_at` and `went_live_at` say so; a question stored before those fields
existed, or imported as answered (the Zoom Q&A report, a JSON import), has them from its
history (the `changes` audit log): the last `answered` entry (a question reopened and answered
again counts from the second time), the `received` entry of an imported answered question, and
the last `go_live` entry.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence

from ..model import HistoryEntry, Question, Status, parse_iso


#: the history actions `answered_moment` looks at (the store can read just these)
ANSWER_ACTIONS = ("answered", "received", "go_live")
#: of those, the actions that matter only with a detail ("received" with an imported status):
#: the store can skip the ~one "received" entry per question that has none
DETAIL_ONLY_ACTIONS = ("received",)


def answered_moment(history: Sequence[HistoryEntry]) -> str | None:
    for entry in reversed(history):
        if entry.action == "answered":
            return entry.at
        if entry.action == "received" and entry.detail.get("status") == Status.ANSWERED.value:
            return entry.at
    return None


def answered_at(questions: Iterable[Question],
                history: Mapping[int, Sequence[HistoryEntry]]) -> dict[int, str]:
    """Question id -> when it was answered, for the answered questions among `questions`."""
    moments: dict[int, str] = {}
    for q in questions:
        if q.status is Status.ANSWERED:
            moments[q.id] = (q.answered_at or answered_moment(history.get(q.id, ()))
                             or q.received_at)
    return moments


def went_live_at(questions: Iterable[Question],
                 history: Mapping[int, Sequence[HistoryEntry]]) -> dict[int, str]:
    """Question id -> when it last went live, for the questions that ever did."""
    moments: dict[int, str] = {}
    for q in questions:
        moment = q.went_live_at or next(
            (e.at for e in reversed(history.get(q.id, ())) if e.action == "go_live"), None)
        if moment is not None:
            moments[q.id] = moment
    return moments


def in_answer_order(questions: Iterable[Question], moments: Mapping[int, str]) -> list[Question]:
    """The answered questions, first answered first (ties: lower id first)."""
    answered = [q for q in questions if q.id in moments]
    return sorted(answered, key=lambda q: (parse_iso(moments[q.id]), q.id))


def median_answer_seconds(questions: Iterable[Question],
                          moments: Mapping[int, str]) -> float | None:
    """Median seconds from arrival (received_at) to answer; None when nothing was answered."""
    waits = [
        max((parse_iso(moments[q.id]) - parse_iso(q.received_at)).total_seconds(), 0.0)
        for q in questions if q.id in moments
    ]
    return statistics.median(waits) if waits else None


def format_duration(seconds: float) -> str:
    """`1 h 02 min`, `12 min 05 s`, `40 s`: short enough for a one-line summary."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
