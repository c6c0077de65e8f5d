"""Every frame of the websocket protocol (`GET /ws`), as typed msgspec Structs.

The server (aggregator/server/ws.py) and the client (aggregator/remote.py) both speak through
these types, so the two ends cannot drift apart. JSON text frames, tagged by `"type"`:

    client: hello, command, history (a moderator asks for a question's audit trail)
    server: welcome, snapshot (in chunks; `done` on the last), changed, health, ack, error,
            history (the answer)

A client frame and a server frame may share a tag (`history`), so there are two unions,
`ClientFrame` and `ServerFrame`. Frames that carry questions are generic in the question type:
a moderator receives `Question`, the host `HostQuestion`, the overlay `OverlayQuestion`
(aggregator/roles.py); `server_decoder(role)` decodes what that role receives.

Error codes: invalid (a malformed frame), forbidden (the role may not), conflict (stale
`if_version`), not_found, and, on the client side only, disconnected.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, Union

import msgspec

from .health import CollectorHealth
from .model import HistoryEntry
from .model import encode_json as _encode_json
from .roles import view_type

Q = TypeVar("Q")


class Frame(msgspec.Struct, tag_field="type", kw_only=True):
    """A frame of either direction; the `type` field is the Struct's tag."""


# --- client -> server ------------------------------------------------------------------------

class Hello(Frame, tag="hello"):
    """The first frame. `since` > 0 asks a moderator's session to resume after that seq."""

    role: str = "moderator"
    token: str | None = None
    name: str = ""
    since: int | None = None


class CommandFrame(Frame, tag="command"):
    id: str
    op: str
    question: int | None = None
    args: dict[str, Any] = {}
    if_version: int | None = None


class HistoryRequest(Frame, tag="history"):
    id: str
    question: int


ClientFrame = Hello | CommandFrame | HistoryRequest


# --- server -> client ------------------------------------------------------------------------

class Welcome(Frame, tag="welcome"):
    seq: int
    role: str
    name: str = ""
    resumed: bool = False
    meeting: str = ""


class SnapshotFrame(Frame, Generic[Q], tag="snapshot"):
    """One chunk of the role's view; the last chunk has `done` true."""

    seq: int
    questions: list[Q]
    done: bool = True


class ChangedFrame(Frame, Generic[Q], tag="changed"):
    seq: int
    question: Q


class HealthFrame(Frame, tag="health"):
    collectors: list[CollectorHealth]


class Ack(Frame, tag="ack"):
    id: str


class ErrorFrame(Frame, tag="error", omit_defaults=True):
    """`id` names the command or request refused; absent for a refused hello or frame."""

    code: str
    message: str = ""
    id: str | None = None


class HistoryReply(Frame, tag="history"):
    id: str
    entries: list[HistoryEntry]


def server_frame_type(question_type: type) -> Any:
    """The union of server frames whose questions are `question_type`."""
    return Union[Welcome, SnapshotFrame[question_type], ChangedFrame[question_type],  # noqa: UP007
                 HealthFrame, Ack, ErrorFrame, HistoryReply]


ServerFrame = server_frame_type(Any)


# --- encoding and decoding -------------------------------------------------------------------

#: frames are encoded with the model's encoder, as the store writes questions
encode = _encode_json

decode_client = msgspec.json.Decoder(ClientFrame).decode


def server_decoder(role: str) -> msgspec.json.Decoder:
    """A decoder of the frames `role` receives, with questions as that role's Struct."""
    return msgspec.json.Decoder(server_frame_type(view_type(role)))


class FrameId(msgspec.Struct):
    """Just enough of a frame that failed to decode to answer it: its type and id."""

    type: str | None = None
    id: str | None = None


def frame_id(raw: str | bytes) -> FrameId:
    """The type and id of a malformed frame, as far as they can be read (else empty)."""
    try:
        return msgspec.json.decode(raw, type=FrameId)
    except (msgspec.DecodeError, RecursionError):
        return FrameId()


def error(code: str, message: str, frame_id: str | None = None) -> bytes:
    return encode(ErrorFrame(code=code, message=message, id=frame_id))
