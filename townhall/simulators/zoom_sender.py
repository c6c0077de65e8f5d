"""Signed Zoom webhooks, built and sent exactly as Zoom sends them (docs/platforms.md, Zoom).

The body is compact JSON with non-ASCII left as UTF-8 (what Zoom sends); the signature is
computed over those exact bytes with the same function the receiver uses, so a test that passes
here passes against Zoom's own signing.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

import aiohttp

from aggregator.collectors.zoom_events import signature

_counter = itertools.count(1)


def chat_event(text: str, *, message_id: str | None = None, sender_name: str = "Ada Lovelace",
               sender_email: str | None = None, session_id: str = "16778240",
               recipient_type: str = "everyone", kind: str = "meeting",
               meeting_id: int = 85746065432, meeting_uuid: str = "4444AAAiAAAAAiAiAiiAii==",
               event_ts_ms: int | None = None, **extra: Any) -> dict[str, Any]:
    """A `meeting.chat_message_sent` (or `webinar.`) body: the envelope with `event_ts` in ms,
    the message under `payload.object.chat_message`."""
    now_ms = event_ts_ms if event_ts_ms is not None else int(time.time() * 1000)
    chat: dict[str, Any] = {
        "date_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_ms / 1000)),
        "sender_session_id": session_id,
        "sender_name": sender_name,
        "sender_type": "guest",
        "recipient_type": recipient_type,
        "message_id": message_id or f"MS17{uuid.uuid4().hex}{next(_counter)}fQ==",
        "message_content": text,
        **extra,
    }
    if sender_email:
        chat["sender_email"] = sender_email
    return {
        "event": f"{kind}.chat_message_sent",
        "event_ts": now_ms,
        "payload": {"account_id": "AAAAAABBBB",
                    "object": {"id": meeting_id, "uuid": meeting_uuid, "chat_message": chat}},
    }


def url_validation_event(plain_token: str = "qgg8vlvZRS6UYooatFL8Aw") -> dict[str, Any]:
    return {"payload": {"plainToken": plain_token}, "event_ts": int(time.time() * 1000),
            "event": "endpoint.url_validation"}


def encode(body: dict[str, Any]) -> bytes:
    """Compact JSON, UTF-8, as Zoom sends it."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signed_headers(secret: str, raw: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "content-type": "application/json; charset=utf-8",
        "user-agent": "Zoom Marketplace/1.0a",
        "x-zm-request-timestamp": ts,
        "x-zm-signature": signature(secret.encode("utf-8"), ts, raw),
        "x-zm-request-id": uuid.uuid4().hex,
    }


class ZoomWebhookSender:
    """Posts signed events to a Townhall `/zoom/webhook` URL; one connection pool per sender."""

    def __init__(self, url: str, secret: str, session: aiohttp.ClientSession | None = None,
                 connections: int = 100) -> None:
        self.url = url
        self.secret = secret
        self._own_session = session is None
        self.session = session or aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=30))

    async def post_raw(self, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        async with self.session.post(self.url, data=raw, headers=headers) as response:
            text = await response.text()
            try:
                data: Any = json.loads(text) if text else None
            except ValueError:
                data = text
            return response.status, data

    async def send(self, body: dict[str, Any] | bytes, *, timestamp: int | None = None
                   ) -> tuple[int, Any]:
        """Sign and post `body`; returns (HTTP status, decoded JSON body or None)."""
        raw = body if isinstance(body, bytes) else encode(body)
        return await self.post_raw(raw, signed_headers(self.secret, raw, timestamp))

    async def close(self) -> None:
        if self._own_session:
            await self.session.close()

    async def __aenter__(self) -> ZoomWebhookSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
