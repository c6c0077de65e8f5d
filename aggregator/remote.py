"""RemoteClient: `aggregator.client.Client` over the websocket protocol (design.md section 7).

The TUIs cannot tell it from a LocalClient. What remote adds:
- After a drop it reconnects with exponential backoff and full jitter, and resumes from the
  last `seq` it saw: the server sends only the changes since then, so nothing is missed and
  nothing is reloaded. (Host and overlay roles always get a fresh snapshot instead; it is
  small.) `ConnectionChanged` events tell the UI when the link goes down and comes back.
- A command made while disconnected is refused at once with CommandError code
  "disconnected", never queued to be sent later: a moderator must not have a stale "approve"
  fire minutes after they pressed the key. A command in flight when the link drops fails the
  same way, and the message says it may have been applied (the resumed changes will show).
- A refused hello (wrong token, unknown role) is final: no retry loop against a server that
  will keep saying no.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .aio import cancel_and_wait
from .client import ClientEvent, ConnectionChanged, HealthChanged
from .collectors.base import Backoff
from .commands import CommandError
from .health import CollectorHealth
from .model import HistoryEntry, Question
from .subscription import Change, Snapshot
from .server.auth import is_loopback

log = logging.getLogger("townhall.remote")

#: frames can hold a large snapshot chunk or one long question
MAX_FRAME = 16 * 1024 * 1024
EXPORT_ANSWER = "export runs on the server: run `townhall export` on the machine that hosts it"


# --- the server's frames -----------------------------------------------------------------

class _Frame(msgspec.Struct, tag_field="type"):
    pass


class Welcome(_Frame, tag="welcome"):
    seq: int
    role: str
    name: str = ""
    resumed: bool = False
    meeting: str = ""


class SnapshotFrame(_Frame, tag="snapshot"):
    questions: list[Question]
    seq: int
    done: bool = True


class ChangedFrame(_Frame, tag="changed"):
    seq: int
    question: Question


class HealthFrame(_Frame, tag="health"):
    collectors: list[CollectorHealth]


class AckFrame(_Frame, tag="ack"):
    id: str


class ErrorFrame(_Frame, tag="error"):
    code: str
    message: str = ""
    id: str | None = None


class HistoryReply(_Frame, tag="history"):
    id: str
    entries: list[HistoryEntry]


ServerFrame = Welcome | SnapshotFrame | ChangedFrame | HealthFrame | AckFrame | ErrorFrame | HistoryReply
_decode = msgspec.json.Decoder(ServerFrame).decode
_encode = msgspec.json.Encoder().encode


class RemoteRefused(Exception):
    """The server refused the hello (wrong token, unknown role): retrying will not help."""


def websocket_url(url: str) -> str:
    """Accept ws(s)://, http(s):// or a bare host:port; the path defaults to /ws."""
    if "://" not in url:
        url = "ws://" + url
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"{url!r} is not a websocket address; use e.g. ws://127.0.0.1:8765/ws")
    path = parts.path if parts.path not in ("", "/") else "/ws"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


class RemoteClient:
    """A Client over `/ws`; see the module docstring."""

    def __init__(self, url: str, token: str | None, *, name: str, role: str = "moderator",
                 backoff: Backoff | None = None, open_timeout: float = 10.0,
                 command_timeout: float = 15.0) -> None:
        self.url = websocket_url(url)
        self.actor = name
        self.role = role
        self.meeting_title = ""
        self.connected = False
        self.last_seq = 0
        self._token = token or ""
        self._backoff = backoff or Backoff(initial=0.5, maximum=10.0)
        self._open_timeout = open_timeout
        self._command_timeout = command_timeout
        self._events: asyncio.Queue[ClientEvent] = asyncio.Queue()
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._snapshot: list[Question] | None = None
        self._closed = False

    def __repr__(self) -> str:  # never show the token
        return f"RemoteClient({self.url!r}, name={self.actor!r}, role={self.role!r})"

    # --- connection ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the first connection now (raises RemoteRefused, OSError or TimeoutError),
        then keep it up in the background. `events()` alone also connects, lazily."""
        if self._task is not None:
            return
        ws = await self._open()
        self._task = asyncio.create_task(self._run(ws), name="remote-client")

    async def _open(self) -> ClientConnection:
        host = urlsplit(self.url).hostname or ""
        ws = await connect(self.url, open_timeout=self._open_timeout, max_size=MAX_FRAME,
                           compression=None, proxy=None if is_loopback(host) else True,
                           user_agent_header="townhall")
        try:
            await ws.send(_encode({"type": "hello", "role": self.role, "token": self._token,
                                   "name": self.actor, "since": self.last_seq or None}),
                          text=True)
            async with asyncio.timeout(self._open_timeout):
                frame = _decode(await ws.recv())
        except BaseException:
            await ws.close()
            raise
        if isinstance(frame, ErrorFrame):
            await ws.close()
            raise RemoteRefused(f"the server refused the connection: {frame.message}")
        if not isinstance(frame, Welcome):
            await ws.close()
            raise RemoteRefused("the server did not answer the hello with a welcome")
        self.meeting_title = frame.meeting
        return ws

    async def _run(self, ws: ClientConnection | None) -> None:
        while not self._closed:
            if ws is None:
                try:
                    ws = await self._open()
                except RemoteRefused as exc:
                    self._events.put_nowait(ConnectionChanged(False, str(exc)))
                    return
                except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed,
                        msgspec.DecodeError) as exc:
                    await self._wait_before_retry(_describe(exc))
                    continue
            self._ws = ws
            self._backoff.reset()
            self.connected = True
            self._events.put_nowait(ConnectionChanged(True))
            reason = "the server closed the connection"
            try:
                await self._receive(ws)
            except ConnectionClosed as exc:
                reason = _describe(exc)
            except msgspec.DecodeError as exc:
                reason = f"the server sent a bad frame ({exc})"
            finally:
                self._ws = None
                self.connected = False
                self._snapshot = None
                self._fail_pending(reason)
                with contextlib.suppress(Exception):
                    await ws.close()
            ws = None
            if not self._closed:
                await self._wait_before_retry(reason)

    async def _wait_before_retry(self, reason: str) -> None:
        delay = self._backoff.next_delay()
        self._events.put_nowait(ConnectionChanged(False, f"{reason}; retrying in {delay:.1f} s"))
        await asyncio.sleep(delay)

    async def _receive(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                frame = _decode(raw)
            except msgspec.ValidationError as exc:  # an unknown frame type: a newer server
                log.debug("ignored a frame: %s", exc)
                continue
            self._dispatch(frame)

    def _dispatch(self, frame: ServerFrame) -> None:
        if isinstance(frame, SnapshotFrame):
            if self._snapshot is None:
                self._snapshot = []
            self._snapshot.extend(frame.questions)
            if frame.done:
                self._events.put_nowait(Snapshot(questions=self._snapshot, seq=frame.seq))
                self._snapshot = None
                self.last_seq = frame.seq
        elif isinstance(frame, ChangedFrame):
            if frame.seq > self.last_seq or self.role != "moderator":
                self.last_seq = max(self.last_seq, frame.seq)
                self._events.put_nowait(Change(seq=frame.seq, question=frame.question))
        elif isinstance(frame, HealthFrame):
            self._events.put_nowait(HealthChanged(frame.collectors))
        elif isinstance(frame, AckFrame):
            self._settle(frame.id, None)
        elif isinstance(frame, HistoryReply):
            self._settle(frame.id, frame.entries)
        elif isinstance(frame, ErrorFrame):
            if frame.id is None or frame.id not in self._pending:
                log.warning("server error: %s %s", frame.code, frame.message)
            else:
                self._settle(frame.id, CommandError(frame.code, frame.message))

    def _settle(self, frame_id: str, result: Any) -> None:
        future = self._pending.pop(frame_id, None)
        if future is None or future.done():
            return
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(CommandError(
                    "disconnected", f"the connection dropped before the server answered "
                    f"({reason}); it may or may not have been applied"))

    # --- the Client interface -----------------------------------------------------------

    async def events(self) -> AsyncIterator[ClientEvent]:
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._run(None), name="remote-client")
        while True:
            yield await self._events.get()

    async def _request(self, frame: dict[str, Any]) -> Any:
        ws = self._ws
        if ws is None or not self.connected:
            raise CommandError("disconnected",
                               "not connected to the server (reconnecting); nothing was sent")
        frame_id = f"c-{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[frame_id] = future
        try:
            await ws.send(_encode({**frame, "id": frame_id}), text=True)
            async with asyncio.timeout(self._command_timeout):
                return await future
        except ConnectionClosed:
            raise CommandError("disconnected",
                               "the connection dropped while sending; nothing was applied"
                               ) from None
        except TimeoutError:
            raise CommandError("disconnected",
                               f"no answer from the server in {self._command_timeout:.0f} s; "
                               "it may or may not have been applied") from None
        finally:
            self._pending.pop(frame_id, None)

    async def command(self, op: str, question: int | None = None,
                      args: dict[str, Any] | None = None,
                      if_version: int | None = None) -> None:
        await self._request({"type": "command", "op": op, "question": question,
                             "args": args or {}, "if_version": if_version})

    async def history(self, question_id: int) -> list[HistoryEntry]:
        return await self._request({"type": "history", "question": question_id})

    #: exports read the server's database: the TUI says so before asking for a format
    can_export = False

    async def export(self, fmt: str, path: str) -> str:
        """Exports read the server's database, so they run there: refused at once."""
        raise CommandError("invalid", EXPORT_ANSWER)

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        await cancel_and_wait([task])
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        self._fail_pending("the client was closed")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        return "the connection dropped"
    if isinstance(exc, ConnectionRefusedError):
        return "the server is not reachable (connection refused)"
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    return f"cannot connect ({type(exc).__name__}: {exc})"
