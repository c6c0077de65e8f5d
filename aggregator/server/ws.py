"""The websocket protocol (aggregator/protocol.py), server side (`GET /ws`).

One `Session` per connection: the hello is checked (token in constant time, role), then a
pump task streams the role's view of the queue (snapshot in chunks, then `changed` frames, in
seq order, only after commit) while the reader loop handles commands one at a time, so a
moderator's commands are applied in the order they were sent (which `undo` relies on). What
each role may send and receive is aggregator/roles.py's decision, never this module's.

Decisions:
- `since` > 0 resumes a moderator from that seq (changes only, no snapshot); 0 or absent asks
  for a snapshot. Host and overlay always get a fresh snapshot: their view is small, and the
  server cannot know which questions a reconnecting page last saw.
- A wrong token, an unknown role or a malformed hello gets an `error` frame (code
  `forbidden` or `invalid`) and the connection is closed with 1008. The token is never logged.
- A malformed frame after the hello gets an `error` frame with code `invalid`; the session
  stays up. A closing, failed or oversized frame ends the session quietly: there is nobody
  left to answer, and logging a traceback per oversized frame would let a client fill the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from .. import protocol
from ..aio import cancel_and_wait
from ..commands import Command, CommandError
from ..health import HealthRegistry
from ..queue import QuestionQueue
from ..roles import ROLES, is_role, present, sees_everything, tombstone, visible
from ..sanitize import clean_line
from ..subscription import Change, Snapshot
from .app import CONFIG, HEALTH, QUEUE
from .auth import Tokens, is_loopback

log = logging.getLogger("townhall.ws")

HELLO_TIMEOUT = 10.0
#: frames from clients are small (commands); anything larger ends the connection (aiohttp)
MAX_CLIENT_FRAME = 64 * 1024
#: a snapshot frame holds questions up to about this many bytes of JSON
SNAPSHOT_CHUNK_BYTES = 256 * 1024
#: at most one health frame per this many seconds (counts change on every arrival)
HEALTH_INTERVAL = 1.0

TOKENS = web.AppKey("ws_tokens", Tokens)
SESSIONS = web.AppKey("ws_sessions", set)


class ChangedFrames:
    """The `changed` frame of each recent change, encoded once per kind of page.

    Every session of a role gets the same bytes for the same change; without this, each of N
    connected pages presented and encoded every arrival again. Kept for the newest
    `keep` frames (sessions read their changes within moments of each other).
    """

    def __init__(self, keep: int = 2_048) -> None:
        self.keep = keep
        self._frames: dict[tuple[str, bool, int], bytes] = {}

    def get(self, role: str, change: Change, *, gone: bool = False) -> bytes:
        """The frame for `role`; `gone`: the question just left that role's view."""
        key = (role, gone, change.seq)
        frame = self._frames.get(key)
        if frame is None:
            question = change.question
            body = tombstone(role, question) if gone else present(role, question)
            frame = protocol.encode(protocol.ChangedFrame(seq=change.seq, question=body))
            self._frames[key] = frame
            if len(self._frames) > self.keep:
                del self._frames[next(iter(self._frames))]
        return frame


FRAMES = web.AppKey("ws_changed_frames", ChangedFrames)


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


async def _send(ws: web.WebSocketResponse, data: bytes) -> None:
    await ws.send_frame(data, WSMsgType.TEXT)


def _cross_site(request: web.Request, tokens: Tokens) -> str | None:
    """Why this upgrade must be refused, or None.

    Browsers let any web page open a websocket to 127.0.0.1, so a page the moderator happens
    to visit could drive an open loopback server. Browsers always send `Origin`: it must be
    this server itself (our /host and /overlay pages). Tools (`townhall connect`) send none.
    On loopback the Host header must name loopback too, which defeats DNS rebinding, while a
    role is open without a token; once every role has one, a rebound page has nothing it could
    open, and a TLS proxy or tunnel on this machine may forward its public host name.
    """
    host_name = (request.url.host or "").strip("[]")
    locked = all(tokens.configured(role) for role in ROLES)
    if tokens.loopback and not locked and not is_loopback(host_name):
        return f"Host {host_name!r} is not this loopback server"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != request.host.lower():
        return "a page from another origin may not open this websocket"
    return None


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    why = _cross_site(request, request.app[TOKENS])
    if why is not None:
        log.warning("refused websocket upgrade from %s: %s", request.remote, why)
        raise web.HTTPForbidden(text=why)
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_CLIENT_FRAME, compress=False)
    await ws.prepare(request)
    sessions = request.app[SESSIONS]
    sessions.add(ws)
    peer = request.remote or "?"
    try:
        try:
            hello = await _read_hello(ws, request.app[TOKENS])
        except ProtocolError as exc:
            log.warning("refused websocket client %s: %s", peer, exc.message)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await _send(ws, protocol.error(exc.code, exc.message))
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"refused")
            return ws
        session = Session(ws, request.app[QUEUE], request.app[HEALTH], hello,
                          request.app[FRAMES])
        log.info("websocket %s connected as %s (%s)", peer, session.actor, session.role)
        await session.run(request.app[CONFIG].meeting.title)
        log.info("websocket %s (%s) disconnected", peer, session.actor)
    finally:
        sessions.discard(ws)
    return ws


#: what ends a session: the peer closes, the connection fails, or a frame was too large
#: (aiohttp answers that one with close code 1009 itself)
_ENDING = frozenset({WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR})


async def _read_hello(ws: web.WebSocketResponse, tokens: Tokens) -> protocol.Hello:
    try:
        async with asyncio.timeout(HELLO_TIMEOUT):
            msg = await ws.receive()
    except TimeoutError:
        raise ProtocolError("invalid", f"no hello within {HELLO_TIMEOUT:.0f} s") from None
    if msg.type is not WSMsgType.TEXT:
        raise ProtocolError("invalid", "the first frame must be a JSON hello")
    try:
        hello = protocol.decode_client(msg.data)
    except (msgspec.DecodeError, RecursionError) as exc:  # deep nesting: RecursionError
        raise ProtocolError("invalid", f"bad hello: {exc}") from None
    if not isinstance(hello, protocol.Hello):
        raise ProtocolError("invalid", "the first frame must be {\"type\": \"hello\", ...}")
    if not is_role(hello.role):
        raise ProtocolError("invalid", f"unknown role; use one of {', '.join(ROLES)}")
    if not tokens.allows(hello.role, hello.token):
        raise ProtocolError("forbidden", f"wrong or missing token for role {hello.role}")
    return hello


class Session:
    """One authenticated connection."""

    def __init__(self, ws: web.WebSocketResponse, queue: QuestionQueue, health: HealthRegistry,
                 hello: protocol.Hello, frames: ChangedFrames) -> None:
        self.ws = ws
        self.frames = frames
        self.queue = queue
        self.health = health
        self.role = hello.role
        self.full = sees_everything(self.role)
        name = clean_line(hello.name, 100)
        # The audit log (and undo, which takes back the actor's last command) goes by this
        # name: only a moderator may be called by a bare name, so a host's `next` can never
        # pass for a moderator's command.
        self.actor = (name or "moderator") if hello.role == "moderator" else (
            f"{hello.role}:{name}" if name else hello.role)
        resume = self.full and hello.since and 0 < hello.since <= queue.seq
        self.since = hello.since if resume else None
        self.shown: set[int] = set()  # ids this page can see (roles that see a part only)

    async def run(self, meeting_title: str) -> None:
        await _send(self.ws, protocol.encode(protocol.Welcome(
            seq=self.queue.seq, role=self.role, name=self.actor, resumed=self.since is not None,
            meeting=meeting_title)))
        subscription = self.queue.subscribe(self.since)
        tasks = [asyncio.create_task(self._pump(subscription))]
        if self.full:
            tasks.append(asyncio.create_task(self._pump_health()))
        try:
            while True:
                msg = await self.ws.receive()
                if msg.type in _ENDING:
                    return
                if msg.type is WSMsgType.TEXT:
                    await self._handle(msg.data)
                else:
                    await _send(self.ws, protocol.error("invalid", "frames must be JSON text"))
        except (ConnectionError, RuntimeError):
            return  # the peer went away while we answered: nothing left to tell it
        finally:
            subscription.close()
            await cancel_and_wait(tasks)

    # --- server -> client ---------------------------------------------------------------

    async def _pump(self, subscription: Any) -> None:
        try:
            async for event in subscription:
                if isinstance(event, Snapshot):
                    await self._send_snapshot(event)
                else:
                    frame = self._changed(event)
                    if frame is not None:
                        await _send(self.ws, frame)
        except (ConnectionError, RuntimeError):
            return  # the client went away; the reader loop ends the session
        except Exception:  # the store could not be read, a bug: a page must not freeze
            log.exception("websocket %s: the change stream failed; closing", self.actor)
            with contextlib.suppress(Exception):  # the client reconnects and resumes
                await self.ws.close(code=1011, message=b"server error; reconnect")

    async def _send_snapshot(self, snapshot: Snapshot) -> None:
        """The snapshot in frames of about SNAPSHOT_CHUNK_BYTES: each question is encoded
        once, and a chunk is the already encoded questions wrapped in a frame."""
        questions = [q for q in snapshot.questions if visible(self.role, q)]
        if not self.full:
            self.shown = {q.id for q in questions}
        chunk: list[msgspec.Raw] = []
        size = 0
        for question in questions:
            encoded = protocol.encode(present(self.role, question))
            chunk.append(msgspec.Raw(encoded))
            size += len(encoded)
            if size >= SNAPSHOT_CHUNK_BYTES:
                await _send(self.ws, protocol.encode(protocol.SnapshotFrame(
                    seq=snapshot.seq, questions=chunk, done=False)))
                chunk, size = [], 0
        await _send(self.ws, protocol.encode(protocol.SnapshotFrame(
            seq=snapshot.seq, questions=chunk, done=True)))

    def _changed(self, change: Change) -> bytes | None:
        question = change.question
        if visible(self.role, question):
            if not self.full:
                self.shown.add(question.id)
            return self.frames.get(self.role, change)
        if question.id in self.shown:
            self.shown.discard(question.id)
            return self.frames.get(self.role, change, gone=True)
        return None

    async def _pump_health(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                sent = self.health.version
                await _send(self.ws, protocol.encode(protocol.HealthFrame(
                    collectors=self.health.snapshot())))
                await asyncio.sleep(HEALTH_INTERVAL)
                if self.health.version == sent:
                    await self.health.changed()

    # --- client -> server ---------------------------------------------------------------

    async def _handle(self, raw: str) -> None:
        try:
            frame = protocol.decode_client(raw)
        except (msgspec.DecodeError, RecursionError) as exc:  # deep nesting: RecursionError
            seen = protocol.frame_id(raw)
            what = f"bad {seen.type} frame" if seen.type else "frames must be JSON objects"
            await _send(self.ws, protocol.error("invalid", f"{what}: {exc}", seen.id))
            return
        try:
            match frame:
                case protocol.CommandFrame():
                    await self._command(frame)
                case protocol.HistoryRequest():
                    await self._history(frame)
                case protocol.Hello():
                    raise CommandError("invalid", "already connected; send command or history")
        except CommandError as exc:
            await _send(self.ws, protocol.error(exc.code, exc.message,
                                                getattr(frame, "id", None)))

    async def _command(self, frame: protocol.CommandFrame) -> None:
        command = Command.sent_by(self.role, frame.op, frame.question, frame.args,
                                  frame.if_version)
        try:
            await self.queue.apply(command, self.actor)
        except CommandError:
            raise
        except Exception as exc:  # a bad argument type, a failed write: answer, stay up
            log.exception("command %s from %s failed", frame.op, self.actor)
            raise CommandError("invalid", f"'{frame.op}' failed: {type(exc).__name__}") from None
        await _send(self.ws, protocol.encode(protocol.Ack(id=frame.id)))

    async def _history(self, frame: protocol.HistoryRequest) -> None:
        if not self.full:
            raise CommandError("forbidden", f"a {self.role} may not read the history")
        if self.queue.get(frame.question) is None:
            raise CommandError("not_found", f"there is no question #{frame.question}")
        entries = self.queue.history(frame.question)
        await _send(self.ws, protocol.encode(protocol.HistoryReply(id=frame.id,
                                                                    entries=entries)))


async def _close_all(app: web.Application) -> None:
    for ws in list(app[SESSIONS]):
        with contextlib.suppress(Exception):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


def install(app: web.Application) -> None:
    """Mount `/ws` on `app` (called by create_app)."""
    app[TOKENS] = Tokens.from_config(app[CONFIG])
    app[SESSIONS] = set()
    app[FRAMES] = ChangedFrames()
    app.on_shutdown.append(_close_all)
    app.router.add_get("/ws", websocket_handler)
