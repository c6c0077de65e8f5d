"""What each websocket role may see (design.md section 7), as pure functions.

- moderator: every question, as stored.
- host: queued and live questions only; no email addresses, author ids, raw metadata or
  history (the host view is often on a shared screen).
- overlay: the live question only, redacted the same way.

When a question a page could see leaves its view (the live one is answered, a queued one is
dismissed), the page must learn that it left. It gets a *tombstone*: the question's id, new
status and version with every piece of content emptied, so nothing about a question outside
its view ever reaches it.
"""

from __future__ import annotations

from typing import Any

from ..model import Question, Status

HOST_STATUSES = frozenset({Status.QUEUED, Status.LIVE})
OVERLAY_STATUSES = frozenset({Status.LIVE})


def visible(role: str, question: Question) -> bool:
    if role == "moderator":
        return True
    if role == "host":
        return question.status in HOST_STATUSES
    return question.status in OVERLAY_STATUSES


def present(role: str, question: Question) -> dict[str, Any]:
    """The question as `role` receives it (the caller checked `visible`)."""
    data = question.to_dict(with_history=False)
    if role == "moderator":
        return data
    data["external_id"] = ""
    data["author"] = {"name": question.author.name, "id": ""}
    data["askers"] = [{"source": a.source, "name": a.name, "id": "", "question": a.question}
                      for a in question.askers]
    data["meta"] = {}
    if role == "overlay":
        data["note"] = None
        data["tags"] = []
        data["flags"] = []
    return data


def tombstone(question: Question) -> dict[str, Any]:
    """A question that just left a page's view: id, status, version, nothing else real."""
    return {
        "id": question.id, "source": question.source, "external_id": "",
        "author": {"name": "", "id": ""}, "text": "", "received_at": question.received_at,
        "status": question.status.value, "version": question.version,
    }
