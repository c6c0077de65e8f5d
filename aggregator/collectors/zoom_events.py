"""Zoom's event envelope: signatures, URL validation, and chat events turned into `Incoming`.

Shared by both delivery modes: the webhook route (`zoom.py`) checks the signature and hands the
parsed body here; the websocket collector (`zoom_ws.py`) hands the `content` of its message
frames here. The payloads are msgspec Structs, so a missing or mistyped field is found by
msgspec and becomes a `BadEvent` with a short reason naming the field, never an exception
elsewhere.

Decisions where Zoom is silent or inconsistent:
- Fields Zoom documents are typed (a message id that is not a string is refused); fields whose
  shape Zoom has not published (`sender_context`, `breakout_room_uuid`, ...) are `Any` and used
  only when they turn out to be text, so a change on Zoom's side cannot cost a message.
- The author's id is the sender's email when Zoom sends one (stable across meetings, so a ban
  sticks), otherwise the `sender_session_id` (valid only for that meeting).
- A message is `private` unless `recipient_type` is "everyone"; when `recipient_type` is absent
  a `recipient_session_id` marks it private.
- `sent_at` is the message's `date_time`, else the envelope's `event_ts` (milliseconds).
- A file posted in the chat (`*.chat_message_file_sent`) becomes a question whose text names the
  file: the moderator sees that someone shared something. Nothing is downloaded, and the
  `download_url` is not kept (it is a link into the meeting's files).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, NamedTuple

import msgspec

from ..health import HealthRegistry
from ..model import Author, Incoming, Source, parse_iso, to_iso
from ..sanitize import clean_line, clean_text
from .base import Sink

#: The events that carry chat text; everything else is acknowledged and counted, not stored.
CHAT_EVENTS = frozenset({"meeting.chat_message_sent", "webinar.chat_message_sent"})
#: A file posted in the chat: a question showing the file's name.
FILE_EVENTS = frozenset({"meeting.chat_message_file_sent", "webinar.chat_message_file_sent"})
URL_VALIDATION = "endpoint.url_validation"

MAX_ID = 256  # a Zoom message_id is ~70 characters; anything far longer is not one
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class BadEvent(ValueError):
    """The body is not a usable Zoom event; the message is a short reason for the 400."""


# --- the payloads, as Zoom documents them -----------------------------------------------------

#: an id Zoom uses as a dedupe key: text, not blank, not absurdly long
MessageId = Annotated[str, msgspec.Meta(pattern=r"\S", max_length=MAX_ID)]


class _Lenient(msgspec.Struct, kw_only=True):
    """Unknown fields are ignored: Zoom adds fields (e.g. `sender_context` in 2026)."""


class _Sender(_Lenient, kw_only=True):
    date_time: str | None = None
    sender_session_id: str | None = None
    sender_name: str | None = None
    sender_email: str | None = None
    sender_type: str | None = None
    recipient_session_id: str | None = None
    recipient_name: str | None = None
    recipient_type: str | None = None
    breakout_room_uuid: Any = None  # shape and position unconfirmed


class ChatMessage(_Sender, kw_only=True):
    message_id: MessageId
    message_content: str
    file_ids: Any = None


class ChatFile(_Sender, kw_only=True):
    message_id: MessageId
    file_name: str
    file_id: str | None = None
    file_size: int | float | None = None
    file_type: str | None = None


class ChatObject(_Lenient, kw_only=True):
    id: int | str | None = None  # a number in chat events, a string in some others
    uuid: str | None = None
    chat_message: ChatMessage
    breakout_room_uuid: Any = None


class FileObject(_Lenient, kw_only=True):
    """File events name the meeting differently: `meeting_id` or `webinar_id`."""

    meeting_id: int | str | None = None
    meeting_uuid: str | None = None
    webinar_id: int | str | None = None
    webinar_uuid: str | None = None
    chat_message_file: ChatFile


class ChatPayload(_Lenient, kw_only=True):
    object: ChatObject


class FilePayload(_Lenient, kw_only=True):
    object: FileObject


class ChatEvent(_Lenient, kw_only=True):
    event: str
    event_ts: Any = None  # milliseconds; only a fallback for the message's own time
    payload: ChatPayload


class FileEvent(_Lenient, kw_only=True):
    event: str
    event_ts: Any = None
    payload: FilePayload


class Envelope(_Lenient, kw_only=True):
    event: Annotated[str, msgspec.Meta(min_length=1)]


class _Plain(_Lenient, kw_only=True):
    plainToken: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID)]


class UrlValidation(_Lenient, kw_only=True):
    payload: _Plain


_PROBLEM = re.compile(r"^(?:Object missing required field `(?P<missing>[^`]*)`|(?P<other>.*?))"
                      r"(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)


def _convert(body: Any, kind: type[msgspec.Struct]) -> Any:
    """`body` as `kind`, or BadEvent naming the field, e.g. "missing field: payload.object"."""
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        match = _PROBLEM.match(str(exc))
        assert match is not None  # the pattern matches any text
        path = match["path"] or ""
        if match["missing"] is not None:
            where = f"{path}.{match['missing']}" if path else match["missing"]
            raise BadEvent(f"missing field: {where}") from None
        if not path:
            raise BadEvent("the body is not a JSON object") from None
        raise BadEvent(f"wrong type for: {clean_line(path, 120)}") from None

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


def url_validation_answer(secret: bytes, body: Any) -> dict[str, str]:
    """The challenge response: the plain token and its hex HMAC-SHA256 under the secret."""
    try:
        plain = msgspec.convert(body, UrlValidation).payload.plainToken
    except msgspec.ValidationError:
        raise BadEvent("endpoint.url_validation without payload.plainToken") from None
    encrypted = hmac.new(secret, plain.encode("utf-8"), hashlib.sha256).hexdigest()
    return {"plainToken": plain, "encryptedToken": encrypted}


# --- chat events ------------------------------------------------------------------------------


def event_name(body: Any) -> str:
    """The `event` of an envelope, or BadEvent."""
    return str(_convert(body, Envelope).event)


def _text(value: Any, limit: int = MAX_ID) -> str | None:
    """Text for meta, from a field that may hold anything (unconfirmed shapes)."""
    return clean_line(value, limit) or None if isinstance(value, str) else None


def _sent_at(date_time: str | None, event_ts: Any) -> str | None:
    if date_time:
        try:
            return to_iso(parse_iso(date_time))
        except (ValueError, OverflowError):  # e.g. year 1 with a positive offset
            pass
    if isinstance(event_ts, (int, float)) and not isinstance(event_ts, bool):
        try:
            return to_iso(datetime.fromtimestamp(event_ts / 1000, timezone.utc))
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _is_private(message: _Sender) -> bool:
    if message.recipient_type is not None:
        return message.recipient_type != "everyone"
    return bool(message.recipient_session_id)


def _meeting_id(value: int | str | None) -> str | None:
    return clean_line(value, 64) or None if value is not None else None


def _incoming(name: str, event_ts: Any, message: ChatMessage | ChatFile, text: str,
              meta: dict[str, Any], flags: list[str]) -> Incoming:
    """What chat messages and chat files share: the author, privacy, time and meta."""
    email = message.sender_email or None
    session = message.sender_session_id or None
    author_id = email.lower() if email else (f"session:{session}" if session else "(unknown)")
    meta = {"event": name, "kind": "webinar" if name.startswith("webinar.") else "meeting",
            **meta}
    for key in ("sender_type", "recipient_type", "recipient_name", "sender_session_id"):
        meta[key] = _text(getattr(message, key))
    if _is_private(message):
        flags.insert(0, "private")
    return Incoming(
        source=Source.ZOOM, external_id=message.message_id,
        author=Author(name=message.sender_name or "", id=author_id, email=email),
        text=text, sent_at=_sent_at(message.date_time, event_ts), flags=tuple(flags),
        meta={k: v for k, v in meta.items() if v is not None},
    )


def chat_incoming(body: Any) -> Incoming:
    """A `meeting.chat_message_sent` / `webinar.chat_message_sent` body as an `Incoming`."""
    event: ChatEvent = _convert(body, ChatEvent)
    obj = event.payload.object
    chat = obj.chat_message
    meta = {"meeting_id": _meeting_id(obj.id), "meeting_uuid": _text(obj.uuid),
            "breakout_room_uuid": _text(chat.breakout_room_uuid)
            or _text(obj.breakout_room_uuid)}
    flags = ["attachment"] if isinstance(chat.file_ids, list) and chat.file_ids else []
    return _incoming(event.event, event.event_ts, chat, chat.message_content, meta, flags)


def file_incoming(body: Any) -> Incoming:
    """A `*.chat_message_file_sent` body as an `Incoming` whose text names the file."""
    event: FileEvent = _convert(body, FileEvent)
    obj = event.payload.object
    shared = obj.chat_message_file
    file_name = clean_line(shared.file_name, 200)
    if not file_name:
        raise BadEvent("blank payload.object.chat_message_file.file_name")
    size = shared.file_size
    meta = {"meeting_id": _meeting_id(obj.webinar_id if obj.webinar_id is not None
                                      else obj.meeting_id),
            "meeting_uuid": _text(obj.webinar_uuid or obj.meeting_uuid),
            "file_name": file_name, "file_id": _text(shared.file_id),
            "file_type": _text(shared.file_type, 40),
            "file_size": int(size) if isinstance(size, (int, float)) and 0 <= size < 2**53
            else None,
            "breakout_room_uuid": _text(shared.breakout_room_uuid)}
    return _incoming(event.event, event.event_ts, shared, f"Shared a file: {file_name}", meta,
                     ["attachment"])

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
        if name in CHAT_EVENTS:
            incoming = chat_incoming(body)
        elif name in FILE_EVENTS:
            incoming = file_incoming(body)
        else:
            self.tally.saw_unknown(name)
            self.publish()
            return Outcome("unknown")
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
