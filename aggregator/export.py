"""Exports of a meeting's questions (design.md section 11).

Every format reads a `Store` opened without the lock, so an export runs while the server does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from .config import Config
from .model import Question, Status, utc_now
from .store import Store

FORMATS = ("json", "csv", "markdown", "wikitext", "followup")


def select(questions: Iterable[Question], statuses: Iterable[str] | None) -> list[Question]:
    wanted = {Status(s) for s in statuses} if statuses else None
    return [q for q in questions if wanted is None or q.status in wanted]


def meeting_info(config: Config) -> dict[str, Any]:
    m = config.meeting
    return {"title": m.title, "starts_at": m.starts_at, "host": m.host,
            "duration_minutes": m.duration_minutes, "answerers": list(m.answerers)}


def to_json(store: Store, config: Config, statuses: Iterable[str] | None = None) -> bytes:
    """Everything, with each question's history: `townhall import` reads this back."""
    history = store.all_history()
    questions = [
        msgspec.structs.replace(q, history=tuple(history.get(q.id, ())))
        for q in select(store.load_questions(), statuses)
    ]
    document = {"meeting": meeting_info(config), "exported_at": utc_now(),
                "questions": questions}
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"
