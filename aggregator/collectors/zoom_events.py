"""Zoom's event envelope: signatures, URL validation, and chat events turned into `Incoming`.

Shared by both delivery modes (reference/zoom.md): the webhook route (`zoom.py`) checks the
signature and hands the parsed body here; the websocket collector (`zoom_ws.py`) hands the
`content` of its message frames here. Everything in a body is hostile until checked: a missing
or mistyped field becomes a `BadEvent` with a short reason, never an exception elsewhere.

Decisions where Zoom is silent or inconsistent:
- The author's id is the sender's email when Zoom sends one (stable across meetings, so a ban
  sticks), otherwise the `sender_session_id` (valid only for that meeting).
- A message is `private` unless `recipient_type` is "everyone"; when `recipient_type` is absent
  a `recipient_session_id` marks it private.
- `sent_at` is the message's `date_time`, else the envelope's `event_ts` (milliseconds).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from ..health import HealthRegistry
from ..model import Author, Incoming, Source, parse_iso, to_iso
from ..sanitize import clean_line, clean_text
from .base import Sink

#: The events that carry chat text; everything else is acknowledged and counted, not stored.
CHAT_EVENTS = frozenset({"meeting.chat_message_sent", "webinar.chat_message_sent"})
URL_VALIDATION = "endpoint.url_validation"

MAX_ID = 256  # a Zoom message_id is ~70 characters; anything far longer is not one
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class BadEvent(ValueError):
    """The body is not a usable Zoom event; the message is a short reason for the 400."""


# --- signatures -------------------------------------------------------------------------------


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}`, exactly as Zoom signs."""
    message = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


def signature_valid(secret: bytes, timestamp: str, body: bytes, header: str) -> bool:
    """Constant-time check of `x-zm-signature` over the raw body; compares bytes, so a
    non-ASCII header cannot raise (hmac.compare_digest refuses non-ASCII str)."""
    if not _TIMESTAMP.fullmatch(timestamp):
        return False
    expected = signature(secret, timestamp, body).encode("ascii")
    return hmac.compare_digest(expected, header.encode("utf-8", "surrogateescape"))


def timestamp_fresh(timestamp: str, tolerance: float, now: float) -> bool:
    """Whether `x-zm-request-timestamp` (epoch seconds) is within `tolerance` of `now`."""
    return bool(_TIMESTAMP.fullmatch(timestamp)) and abs(now - int(timestamp)) <= tolerance


def url_validation_answer(secret: bytes, body: dict[str, Any]) -> dict[str, str]:
    """The challenge response: the plain token and its hex HMAC-SHA256 under the secret."""
    payload = body.get("payload")
    plain = payload.get("plainToken") if isinstance(payload, dict) else None
    if not isinstance(plain, str) or not plain or len(plain) > MAX_ID:
        raise BadEvent("endpoint.url_validation without payload.plainToken")
    encrypted = hmac.new(secret, plain.encode("utf-8"), hashlib.sha256).hexdigest()
    return {"plainToken": plain, "encryptedToken": encrypted}


# --- chat events ------------------------------------------------------------------------------


def event_name(body: Any) -> str:
    """The `event` of an envelope, or BadEvent."""
    if not isinstance(body, dict):
        raise BadEvent("the body is not a JSON object")
    name = body.get("event")
    if not isinstance(name, str) or not name:
        raise BadEvent("missing field: event")
    return name


def _get(mapping: dict[str, Any], key: str, kind: type, where: str, required: bool = True) -> Any:
    value = mapping.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        problem = "missing field" if value is None else "wrong type for"
        raise BadEvent(f"{problem}: {where}{key}")
    return value


def _text_field(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) and value else None


def _sent_at(chat: dict[str, Any], body: dict[str, Any]) -> str | None:
    raw = chat.get("date_time")
    if isinstance(raw, str):
        try:
            return to_iso(parse_iso(raw))
        except (ValueError, OverflowError):  # e.g. year 1 with a positive offset
            pass
    event_ts = body.get("event_ts")
    if isinstance(event_ts, (int, float)) and not isinstance(event_ts, bool):
        try:
            return to_iso(datetime.fromtimestamp(event_ts / 1000, timezone.utc))
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _is_private(chat: dict[str, Any]) -> bool:
    recipient = chat.get("recipient_type")
    if isinstance(recipient, str):
        return recipient != "everyone"
    return _text_field(chat, "recipient_session_id") is not None


def chat_incoming(body: dict[str, Any]) -> Incoming:
    """A `meeting.chat_message_sent` / `webinar.chat_message_sent` body as an `Incoming`."""
    name = event_name(body)
    payload = _get(body, "payload", dict, "")
    obj = _get(payload, "object", dict, "payload.")
    chat = _get(obj, "chat_message", dict, "payload.object.")
    where = "payload.object.chat_message."
    message_id = _get(chat, "message_id", str, where)
    if not message_id.strip() or len(message_id) > MAX_ID:
        raise BadEvent(f"unusable {where}message_id")
    text = _get(chat, "message_content", str, where)
    sender_name = _get(chat, "sender_name", str, where, required=False) or ""
    email = _text_field(chat, "sender_email")
    session = _text_field(chat, "sender_session_id")
    author_id = email.lower() if email else (f"session:{session}" if session else "(unknown)")

    meeting_id = obj.get("id")
    meta: dict[str, Any] = {
        "event": name,
        "kind": "webinar" if name.startswith("webinar.") else "meeting",
        "meeting_id": (clean_line(meeting_id, 64) or None
                       if isinstance(meeting_id, (int, str)) and not isinstance(meeting_id, bool)
                       else None),
        "meeting_uuid": clean_line(_text_field(obj, "uuid"), MAX_ID) or None,
    }
    for key in ("sender_type", "recipient_type", "recipient_name", "sender_session_id"):
        value = _text_field(chat, key)
        if value:
            meta[key] = clean_line(value, MAX_ID)
    breakout = _text_field(chat, "breakout_room_uuid") or _text_field(obj, "breakout_room_uuid")
    if breakout:
        meta["breakout_room_uuid"] = clean_line(breakout, MAX_ID)

    flags: list[str] = []
    if _is_private(chat):
        flags.append("private")
    if isinstance(chat.get("file_ids"), list) and chat["file_ids"]:
        flags.append("attachment")
    return Incoming(
        source=Source.ZOOM, external_id=message_id,
        author=Author(name=sender_name, id=author_id, email=email),
        text=text, sent_at=_sent_at(chat, body), flags=tuple(flags),
        meta={k: v for k, v in meta.items() if v is not None},
    )


# --- what happened to each event, for the collector's health ----------------------------------


@dataclass
class EventTally:
    """Counters shown in the collector's health detail (both modes share them)."""

    accepted: int = 0
    duplicates: int = 0
    unknown: int = 0
    rejected: int = 0
    store_failures: int = 0
    unknown_names: dict[str, int] = field(default_factory=dict)

    MAX_NAMES = 20  # event names come from outside: keep the table bounded

    def saw_unknown(self, name: str) -> None:
        self.unknown += 1
        name = clean_line(name, 80)
        if name in self.unknown_names or len(self.unknown_names) < self.MAX_NAMES:
            self.unknown_names[name] = self.unknown_names.get(name, 0) + 1

    def detail(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates,
                "unknown_events": self.unknown, "unknown_event_names": dict(self.unknown_names),
                "rejected": self.rejected, "store_failures": self.store_failures}


class Outcome(NamedTuple):
    kind: str  # "stored", "duplicate", "unknown" (not a chat event), "blank" (no text)
    question_id: int | None = None


class EventHandler:
    """Turns one parsed event body into a stored question; shared by webhook and websocket.

    `handle()` raises BadEvent for an unusable body and lets a store failure propagate, so the
    caller can answer 400 / 503 (webhook) or retry (websocket). It returns only after the
    question is committed.
    """

    def __init__(self, name: str, health: HealthRegistry) -> None:
        self.name = name
        self.health = health
        self.tally = EventTally()

    def publish(self) -> None:
        self.health.update_detail(self.name, **self.tally.detail())

    def rejected(self) -> None:
        self.tally.rejected += 1
        self.publish()

    def store_failed(self) -> None:
        self.tally.store_failures += 1
        self.publish()

    async def handle(self, sink: Sink, body: Any) -> Outcome:
        name = event_name(body)
        if name not in CHAT_EVENTS:
            self.tally.saw_unknown(name)
            self.publish()
            return Outcome("unknown")
        incoming = chat_incoming(body)
        if not clean_text(incoming.text):
            self.tally.saw_unknown(f"{name} (blank)")
            self.publish()
            return Outcome("blank")
        result = await sink.submit(incoming)
        if result.created:
            self.tally.accepted += 1
            self.health.count(self.name)
        else:
            self.tally.duplicates += 1
        self.publish()
        return Outcome("stored" if result.created else "duplicate", result.question.id)
