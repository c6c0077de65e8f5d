"""The Zoom collector, webhook mode: `POST /zoom/webhook` on the Townhall server.

Zoom's delivery rules (docs/platforms.md, Zoom: a 2xx within 3 s is success, only 5xx and
transport failures are retried) decide every status code here:
- 2xx means "stored": the answer goes out only after the commit, so an acknowledged chat
  message is on disk. A redelivery of the same `message_id` is answered 200 and stored once.
- 5xx makes Zoom retry (after 5, 20 and 60 minutes): used when the store fails or the collector
  is not running, so no question is lost to a transient problem.
- 4xx is never retried: used only for requests that can never succeed (bad signature, stale
  timestamp, oversized or malformed body).
- Unknown events are acknowledged with 204 and counted in the collector's health.

Order of checks: size, then the signature over the raw bytes (before parsing anything), then the
timestamp window, then JSON. `endpoint.url_validation` is signed too and answered after the
same checks. The websocket mode lives in `zoom_ws.py`; both share `zoom_events.py`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from ..config import Config
from ..health import HealthRegistry
from ..server.app import MAX_BODY
from .base import Collector, CollectorStopped, Sink
from .zoom_events import (
    URL_VALIDATION,
    BadEvent,
    EventHandler,
    event_name,
    signature_valid,
    timestamp_fresh,
    url_validation_answer,
)

log = logging.getLogger("townhall.zoom")

NAME = "zoom"
WEBHOOK_PATH = "/zoom/webhook"


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode  # strict JSON; its errors are ValueErrors (-> 400)


def _json(data: object, status: int = 200) -> web.Response:
    """A JSON answer without aiohttp's json.dumps detour (this route is the hot path)."""
    return web.Response(body=_encode(data), status=status, content_type="application/json")


def _error(status: int, reason: str) -> web.Response:
    return _json({"error": reason}, status=status)


def missing_secret_message(env: str, key: str) -> str:
    return (f"environment variable {env or '(none)'} (named by [zoom] {key}) is not set: "
            "set it to the value shown in your Zoom app, then restart")


class ZoomWebhookCollector:
    """Receives Zoom's signed webhooks; `run()` only marks it ready and waits."""

    name = NAME

    def __init__(self, secret: str | None, health: HealthRegistry, *,
                 tolerance_seconds: float = 300, secret_env: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode("utf-8") if secret else None
        self._secret_env = secret_env
        self._tolerance = tolerance_seconds
        self._clock = clock
        self._sink: Sink | None = None
        self.health = health
        self.events = EventHandler(self.name, health)

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(WEBHOOK_PATH, self.webhook)]

    async def run(self, sink: Sink) -> None:
        if self._secret is None:
            raise CollectorStopped(missing_secret_message(self._secret_env, "secret_token_env"))
        self._sink = sink
        self.health.set(self.name, "live", f"waiting for Zoom webhooks at POST {WEBHOOK_PATH}")
        self.events.publish()
        try:
            await asyncio.Future()  # runs until cancelled at shutdown
        finally:
            self._sink = None  # from now on Zoom gets 503 and retries later

    async def webhook(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            self.events.rejected()
            return _error(413, f"body over {MAX_BODY} bytes")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.events.rejected()
            return _error(413, f"body over {MAX_BODY} bytes")
        sink, secret = self._sink, self._secret
        if sink is None or secret is None:
            return _error(503, "the Zoom collector is not running")
        timestamp = request.headers.get("x-zm-request-timestamp", "")
        if not signature_valid(secret, timestamp, raw, request.headers.get("x-zm-signature", "")):
            self.events.rejected()
            return _error(401, "invalid signature")
        if not timestamp_fresh(timestamp, self._tolerance, self._clock()):
            self.events.rejected()
            return _error(401, "timestamp outside the accepted window")
        try:
            body: Any = _decode(raw)
            if event_name(body) == URL_VALIDATION:
                return _json(url_validation_answer(secret, body))
            outcome = await self.events.handle(sink, body)
        except (BadEvent, ValueError, RecursionError) as exc:
            self.events.rejected()
            reason = str(exc) if isinstance(exc, BadEvent) else "invalid JSON"
            return _error(400, reason)
        except Exception as exc:  # the store failed: 503 so that Zoom delivers it again
            self.events.store_failed()
            log.warning("zoom webhook not stored (%s); answering 503 so Zoom retries",
                        type(exc).__name__)
            return _error(503, "not stored; retry later")
        if outcome.question_id is None:
            return web.Response(status=204)
        return _json({"question": outcome.question_id, "created": outcome.kind == "stored"})


def build_zoom_collector(config: Config, health: HealthRegistry) -> Collector:
    """The collector `[zoom] mode` asks for."""
    zoom = config.zoom
    if zoom.mode == "websocket":
        from .zoom_ws import build_websocket_collector

        return build_websocket_collector(config, health)
    return ZoomWebhookCollector(config.secret(zoom.secret_token_env), health,
                                tolerance_seconds=zoom.timestamp_tolerance_seconds,
                                secret_env=zoom.secret_token_env)
