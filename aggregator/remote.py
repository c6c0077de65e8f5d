"""RemoteClient: `aggregator.client.Client` over the websocket protocol (aggregator/protocol.py).

The TUIs cannot tell it from a LocalClient. What remote adds:
- After a drop it reconnects (websockets' reconnecting iterator, with our backoff: a moderator
  should not wait a minute and a half for a server that restarted) and resumes from the last
  `seq` it saw: the server sends only the changes since then, so nothing is missed and nothing
  is reloaded. (Host and overlay roles always get a fresh snapshot instead; it is small.)
  `ConnectionChanged` events tell the UI when the link goes down and comes back.
- A command made while disconnected is refused at once with CommandError code
  "disconnected", never queued to be sent later: a moderator must not have a stale "approve"
  fire minutes after they pressed the key. A command in flight when the link drops fails the
  same way, and the message says it may have been applied (the resumed changes will show).
- A refused hello (wrong token, unknown role) is final: no retry loop against a server that
  will keep saying no.
- Questions arrive as the role receives them (aggregator/roles.py): a `Question` for a
  moderator, a `HostQuestion` or `OverlayQuestion` for the pages' roles.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
from websockets.asyncio.client import ClientConnection, connect, process_exception
from websockets.exceptions import ConnectionClosed

from . import protocol
from .aio import cancel_and_wait
from .client import ClientEvent, ConnectionChanged, HealthChanged
from .collectors.base import Backoff
from .commands import CommandError
from .model import HistoryEntry
from .roles import is_role, sees_everything
from .server.auth import is_loopback
from .subscription import Change, Snapshot

log = logging.getLogger("townhall.remote")

#: frames can hold a large snapshot chunk or one long question
MAX_FRAME = 16 * 1024 * 1024
EXPORT_ANSWER = "export runs on the server: run `townhall export` on the machine that hosts it"


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
        if not is_role(role):
            raise ValueError(f"unknown role {role!r}")
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
        self._snapshot: list[Any] | None = None
        self._closed = False
        self._decode = protocol.server_decoder(role).decode

    def __repr__(self) -> str:  # never show the token
        return f"RemoteClient({self.url!r}, name={self.actor!r}, role={self.role!r})"

    # --- connection ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the first connection now (raises RemoteRefused, OSError or TimeoutError),
        then keep it up in the background. `events()` alone also connects, lazily."""
        if self._task is not None:
            return
        connector = self._connector()
        ws = await connector
        try:
            await self._hello(ws)
        except BaseException:
            await ws.close()
            raise
        self._task = asyncio.create_task(self._run(connector, ws), name="remote-client")

    def _connector(self) -> connect:
        host = urlsplit(self.url).hostname or ""
        return connect(self.url, open_timeout=self._open_timeout, max_size=MAX_FRAME,
                       compression=None, proxy=None if is_loopback(host) else True,
                       user_agent_header="townhall", reconnect_delays=self._delays,
                       process_exception=self._retryable)

    def _delays(self) -> Iterator[float]:
        """The waits between failed attempts. websockets asks for a new series after each
        connection; ours goes on growing until a hello is welcomed (`_hello` resets it), so a
        server that accepts and drops at once is not hammered either."""
        while True:
            yield self._backoff.next_delay()

    def _retryable(self, exc: Exception) -> Exception | None:
        """websockets' own verdict (retry on network errors and 5xx), told to the UI."""
        verdict = process_exception(exc)
        if verdict is None:
            self._events.put_nowait(ConnectionChanged(False, f"{_describe(exc)}; retrying"))
        return verdict

    async def _hello(self, ws: ClientConnection) -> None:
        """Say hello on a new connection; RemoteRefused if the server says no."""
        await ws.send(protocol.encode(protocol.Hello(
            role=self.role, token=self._token, name=self.actor, since=self.last_seq or None)),
            text=True)
        async with asyncio.timeout(self._open_timeout):
            frame = self._decode(await ws.recv())
        if isinstance(frame, protocol.ErrorFrame):
            raise RemoteRefused(f"the server refused the connection: {frame.message}")
        if not isinstance(frame, protocol.Welcome):
            raise RemoteRefused("the server did not answer the hello with a welcome")
        self.meeting_title = frame.meeting
        self._backoff.reset()

    async def _run(self, connector: connect, first: ClientConnection | None) -> None:
        """Serve `first` (already greeted), then every connection websockets makes next."""
        try:
            if first is not None:
                await self._serve(first, greeted=True)
            async with contextlib.aclosing(aiter(connector)) as connections:
                async for ws in connections:
                    if self._closed:
                        return
                    await self._serve(ws, greeted=False)
        except RemoteRefused as exc:
            self._events.put_nowait(ConnectionChanged(False, str(exc)))
        except Exception as exc:  # websockets' verdict: not worth retrying (e.g. HTTP 403)
            self._events.put_nowait(ConnectionChanged(False, _describe(exc)))

    async def _serve(self, ws: ClientConnection, *, greeted: bool) -> None:
        """One connection, from hello to drop; RemoteRefused ends the reconnecting."""
        reason = "the server closed the connection"
        try:
            if not greeted:
                await self._hello(ws)
            self._ws = ws
            self.connected = True
            self._events.put_nowait(ConnectionChanged(True))
            await self._receive(ws)
        except (ConnectionClosed, TimeoutError) as exc:
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
        if not self._closed:
            # websockets reconnects at once after a connection that worked; a short wait
            # first lets a restarting server come back instead of refusing the first try
            delay = self._backoff.next_delay()
            self._events.put_nowait(ConnectionChanged(
                False, f"{reason}; retrying in {delay:.1f} s"))
            await asyncio.sleep(delay)

    async def _receive(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                frame = self._decode(raw)
            except msgspec.ValidationError as exc:  # an unknown frame type: a newer server
                log.debug("ignored a frame: %s", exc)
                continue
            self._dispatch(frame)

    def _dispatch(self, frame: Any) -> None:
        if isinstance(frame, protocol.SnapshotFrame):
            if self._snapshot is None:
                self._snapshot = []
            self._snapshot.extend(frame.questions)
            if frame.done:
                self._events.put_nowait(Snapshot(questions=self._snapshot, seq=frame.seq))
                self._snapshot = None
                self.last_seq = frame.seq
        elif isinstance(frame, protocol.ChangedFrame):
            if frame.seq > self.last_seq or not sees_everything(self.role):
                self.last_seq = max(self.last_seq, frame.seq)
                self._events.put_nowait(Change(seq=frame.seq, question=frame.question))
        elif isinstance(frame, protocol.HealthFrame):
            self._events.put_nowait(HealthChanged(frame.collectors))
        elif isinstance(frame, protocol.Ack):
            self._settle(frame.id, None)
        elif isinstance(frame, protocol.HistoryReply):
            self._settle(frame.id, frame.entries)
        elif isinstance(frame, protocol.ErrorFrame):
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
            self._task = asyncio.create_task(self._run(self._connector(), None),
                                             name="remote-client")
        while True:
            yield await self._events.get()

    async def _request(self, frame: protocol.CommandFrame | protocol.HistoryRequest) -> Any:
        ws = self._ws
        if ws is None or not self.connected:
            raise CommandError("disconnected",
                               "not connected to the server (reconnecting); nothing was sent")
        frame_id = f"c-{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[frame_id] = future
        try:
            frame = msgspec.structs.replace(frame, id=frame_id)
            await ws.send(protocol.encode(frame), text=True)
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
        await self._request(protocol.CommandFrame(id="", op=op, question=question,
                                                  args=args or {}, if_version=if_version))

    async def history(self, question_id: int) -> list[HistoryEntry]:
        return await self._request(protocol.HistoryRequest(id="", question=question_id))

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
