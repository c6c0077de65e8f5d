"""The Zoom collector, websocket mode: Zoom's WebSocket event delivery (docs/platforms.md, Zoom).

No public HTTPS address is needed: Townhall connects out to the subscription URL with an S2S
OAuth token in the query string, sends the application heartbeat `{"module":"heartbeat"}` every
30 s (the `websockets` keepalive pings are off: Zoom wants its own frame), and feeds every
`{"module":"message","content":"<JSON string>"}` frame to the same event handler as the webhook.

Reconnection: after any drop, silence, or auth failure the collector reconnects with
exponential backoff and full jitter (capped at 60 s); an auth failure ("Invalid Token") first
throws the token away. The backoff starts over only after a connection stayed up for a
heartbeat interval, so a connection that Zoom accepts and drops at once does not spin.
The token is refreshed in the background before it expires, so a reconnect never waits for one.

Zoom does not replay events sent while the socket was closed. After a reconnect the health
says which interval may be missing: from the last frame the old connection received (the link
was known to work then) to the moment the new one went live; the last few such intervals stay
in the health detail as `missed_intervals`. Because there is no redelivery on this channel, a
store failure is retried here a few times before the message is given up (and counted in
health as `store_failures`).

Frames are msgspec Structs too. Zoom's own samples disagree on whether a message frame's
`content` is the event as a JSON string or as an object: both are accepted.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from ..aio import cancel_and_wait
from ..config import Config
from ..health import HealthRegistry
from ..model import to_iso
from ..net import is_loopback
from ..sanitize import clean_line
from ..store import StoreError
from .base import Backoff, Collector, CollectorStopped, Sink, retry_time
from .zoom_events import BadEvent, EventHandler
from .zoom_oauth import (
    AccessToken,
    MissingCredentials,
    TokenError,
    ZoomOAuth,
    oauth_from_config,
    redact,
)

log = logging.getLogger("townhall.zoom")

HEARTBEAT = json.dumps({"module": "heartbeat"})
MAX_FRAME = 256 * 1024
STORE_RETRIES = (0.5, 2.0, 5.0)
MAX_GAPS_SHOWN = 5


class Frame(msgspec.Struct, kw_only=True):
    """One frame of Zoom's WebSocket event delivery; unknown fields are ignored."""

    module: str | None = None
    success: Any = None  # only `true` counts as success
    content: Any = None  # a message frame: the event, as a JSON string or an object


_EMPTY = Frame()
_decode_frame = msgspec.json.Decoder(Frame).decode
_decode_any = msgspec.json.Decoder().decode


class ConnectionLost(Exception):
    """The connection ended; the message is the reason shown in health."""


class AuthFailed(ConnectionLost):
    """Zoom refused the token (`build_connection` with success false)."""


def with_token(url: str, token: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}access_token={token}"


class ZoomWebSocketCollector:
    name = "zoom"

    def __init__(self, subscription_url: str, oauth: ZoomOAuth, health: HealthRegistry, *,
                 heartbeat_interval: float = 30.0, silence_timeout: float | None = None,
                 open_timeout: float = 15.0, backoff: Backoff | None = None) -> None:
        self.url = subscription_url
        self.oauth = oauth
        self.health = health
        self.heartbeat_interval = heartbeat_interval
        # Zoom acknowledges each heartbeat; two intervals without any frame means a dead link.
        self.silence_timeout = silence_timeout or heartbeat_interval * 2
        self.open_timeout = open_timeout
        self.backoff = backoff or Backoff(initial=1.0, maximum=60.0)
        self.events = EventHandler(self.name, health)
        self._token: AccessToken | None = None
        self._live_since: float | None = None  # loop time the current connection went live
        self._last_frame_at: datetime | None = None  # wall time of the last frame while live
        self._down_since: datetime | None = None  # when events may have started to go missing
        self.missed: list[dict[str, Any]] = []  # the last few intervals that may be missing
        self.connections = 0

    # --- the reconnect loop -----------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.health.set(self.name, "starting", "connecting to Zoom")
            started = loop.time()
            try:
                reason = await self._session(sink)
            except AuthFailed as exc:
                self._token = None  # fetch a fresh one before the next attempt
                reason = str(exc)
            except (ConnectionLost, TokenError) as exc:
                reason = str(exc)
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = f"{type(exc).__name__}: {clean_line(exc, 200)}"
            if self._live_since is not None and self._down_since is None:
                self._down_since = self._last_frame_at or _now()
            if self._live_since is not None and loop.time() - self._live_since >= \
                    self.heartbeat_interval:
                self.backoff.reset()
            delay = self.backoff.next_delay()
            reason = redact(reason)
            log.warning("zoom websocket: %s; reconnecting in %.1fs (after %.0fs)", reason, delay,
                        loop.time() - started)
            self.health.set(self.name, "backoff", reason, retry_at=retry_time(delay))
            await asyncio.sleep(delay)

    async def _current_token(self) -> AccessToken:
        loop = asyncio.get_running_loop()
        if self._token is None or loop.time() >= self._token.expires_at - 1:
            self._token = await self.oauth.fetch()
        return self._token

    async def _session(self, sink: Sink) -> str:
        """One connection, from token to close; returns or raises the reason it ended."""
        self._live_since = None
        token = await self._current_token()
        async with connect(with_token(self.url, token.value), ping_interval=None,
                           open_timeout=self.open_timeout, max_size=MAX_FRAME,
                           close_timeout=2) as ws:
            self.connections += 1
            first = await self._receive(ws, self.open_timeout)
            if first.module != "build_connection":
                raise ConnectionLost("Zoom did not open with build_connection")
            if first.success is not True:
                raise AuthFailed(f"Zoom refused the connection: "
                                 f"{clean_line(first.content, 120) or 'no reason given'}")
            self._live_since = asyncio.get_running_loop().time()
            self._went_live()
            self.events.publish()
            helpers = [asyncio.create_task(self._heartbeat(ws)),
                       asyncio.create_task(self._refresh_token())]
            try:
                while True:
                    await self._dispatch(sink, await self._receive(ws, self.silence_timeout))
            finally:
                await cancel_and_wait(helpers)

    def _went_live(self) -> None:
        """Health for a new live connection, naming the interval lost since the last one."""
        now = _now()
        self._last_frame_at = now
        reason = "connected to Zoom's WebSocket event delivery"
        if self._down_since is not None:
            gap = {"from": to_iso(self._down_since), "to": to_iso(now),
                   "seconds": round((now - self._down_since).total_seconds(), 1)}
            self.missed = [*self.missed, gap][-MAX_GAPS_SHOWN:]
            self._down_since = None
            reason += (f"; chat sent between {gap['from']} and {gap['to']} may be missing "
                       "(Zoom does not deliver events sent while disconnected)")
        self.health.set(self.name, "live", reason, connections=self.connections,
                        missed_intervals=list(self.missed) or None)

    async def _receive(self, ws: ClientConnection, timeout: float) -> Frame:
        """The next frame; a silent or closed link raises ConnectionLost."""
        try:
            async with asyncio.timeout(timeout):
                frame = await ws.recv()
        except TimeoutError:
            raise ConnectionLost(f"no frame from Zoom for {timeout:g}s") from None
        except WebSocketException as exc:  # ConnectionClosed and protocol errors
            raise ConnectionLost(f"connection closed ({clean_line(exc, 120)})") from None
        if self._live_since is not None:
            self._last_frame_at = _now()
        try:
            return _decode_frame(frame)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            self.events.rejected()
            return _EMPTY

    async def _heartbeat(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            await ws.send(HEARTBEAT)

    async def _refresh_token(self) -> None:
        """Replace the token before it expires; a failure is retried until the next refresh
        point, and in the worst case the next reconnect fetches one."""
        loop = asyncio.get_running_loop()
        while self._token is not None:
            await asyncio.sleep(max(self._token.refresh_at - loop.time(), 0.0))
            try:
                self._token = await self.oauth.fetch()
                self.health.update_detail(self.name, token_refreshes=self.oauth.fetched - 1)
            except TokenError as exc:
                log.warning("zoom token refresh failed: %s", exc)
                await asyncio.sleep(min(30.0, max(self._token.lifetime * 0.05, 0.05)))

    # --- frames -----------------------------------------------------------------------------

    async def _dispatch(self, sink: Sink, frame: Frame) -> None:
        module = frame.module
        if module == "heartbeat" or frame is _EMPTY:
            return
        if module == "build_connection" and frame.success is False:
            raise AuthFailed(f"Zoom ended the session: {clean_line(frame.content, 120)}")
        if module != "message":
            self.events.tally.saw_unknown(f"module {clean_line(module, 40)}")
            self.events.publish()
            return
        content = frame.content
        if isinstance(content, str):
            try:
                body = _decode_any(content)
            except (msgspec.DecodeError, RecursionError):
                self.events.rejected()
                return
        elif isinstance(content, dict):
            body = content
        else:
            self.events.rejected()
            return
        await self._store(sink, body)

    async def _store(self, sink: Sink, body: Any) -> None:
        for delay in (*STORE_RETRIES, None):
            try:
                await self.events.handle(sink, body)
                return
            except BadEvent as exc:
                log.info("zoom websocket: unusable event (%s)", exc)
                self.events.rejected()
                return
            except StoreError as exc:  # the store failed: Zoom will not redeliver, so retry
                self.events.store_failed()
                if delay is None:
                    log.error("zoom chat message lost: the store failed %d times (%s)",
                              len(STORE_RETRIES) + 1, type(exc).__name__)
                    return
                await asyncio.sleep(delay)
            except Exception:  # a bug on this one event: it fails alone, the stream goes on
                log.exception("zoom websocket: an event could not be handled")
                self.events.rejected()
                return


def _now() -> datetime:
    return datetime.now(timezone.utc)


def subscription_url_problem(url: str) -> str | None:
    """Why `url` cannot be used, or None. Plain ws:// would send the token in clear text, so it
    is accepted only for a loopback host (local tests and the demo)."""
    parts = urlsplit(url)
    if parts.scheme == "wss" and parts.hostname:
        return None
    if parts.scheme == "ws" and is_loopback(parts.hostname):
        return None
    return ("[zoom] subscription_url must be the wss:// WebSocket endpoint URL shown in your "
            "Zoom app's event subscription (e.g. wss://ws.zoom.us/ws?subscriptionId=...)")


def build_websocket_collector(config: Config, health: HealthRegistry) -> Collector:
    try:
        oauth = oauth_from_config(config)
    except MissingCredentials as exc:
        return _Stopped(str(exc))
    problem = subscription_url_problem(config.zoom.subscription_url)
    if problem:
        return _Stopped(problem)
    return ZoomWebSocketCollector(config.zoom.subscription_url, oauth, health)


class _Stopped:
    """A websocket collector whose config cannot work: it stops at once with the fix."""

    name = "zoom"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def run(self, sink: Sink) -> None:
        raise CollectorStopped(self.reason)
