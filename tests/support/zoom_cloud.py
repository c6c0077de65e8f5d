"""A local server playing Zoom's side of the websocket mode and the REST API.

One aiohttp app on loopback serves what Townhall calls at Zoom:
- `POST /oauth/token`: Server-to-Server OAuth (HTTP Basic client auth, `grant_type` in the
  query, `account_id` for `account_credentials`), tokens with a configurable lifetime;
- `GET /ws`: WebSocket event delivery with Zoom's frames (`build_connection`, heartbeat
  acknowledgements, `message` frames whose `content` is a JSON string), refusing unknown or
  expired tokens with `"success": false`;
- `GET /v2/report/webinars/{id}/qa` and `/v2/report/meetings/{id}/qa`: the Q&A report, Bearer
  token required;
- `GET /v2/past_webinars/{id}/qa` and `/v2/past_meetings/{id}/qa`: the shorter Q&A list Zoom
  serves without the reports feature (no question ids, no times).

Tests drive it (`send_event`, `drop`, `revoke_tokens`, `report_status` to make the report
unavailable as on a plan without reports); `file_event` builds a `*.chat_message_file_sent`
body shaped as Zoom documents it (the file keys differ from the chat keys).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from typing import Any

import aiohttp
from aiohttp import web

from aggregator.server.site import start_site


class FakeZoomCloud:
    def __init__(self, client_id: str = "client-id", client_secret: str = "client-secret", *,
                 account_id: str = "account-1", token_lifetime: float = 3600,
                 ack_heartbeats: bool = True) -> None:
        self.client_id, self.client_secret, self.account_id = client_id, client_secret, account_id
        self.token_lifetime = token_lifetime
        self.ack_heartbeats = ack_heartbeats
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.token_requests = 0
        self.connections = 0  # websocket upgrades, accepted or not
        self.refused = 0  # connections refused for a bad token
        self.heartbeats = 0
        self.reports: dict[tuple[str, str], dict[str, Any]] = {}  # (kind, id) -> report
        self.past_qa: dict[tuple[str, str], dict[str, Any]] = {}  # (kind, id) -> past_*/qa
        #: answer every report request with this status (e.g. 403: a plan without reports)
        self.report_status: int | None = None
        self.report_requests: list[str] = []  # paths asked for, in order
        self._live: dict[web.WebSocketResponse, web.Request] = {}
        self._changed = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- lifecycle --------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self._token)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/v2/report/{kind:webinars|meetings}/{id}/qa", self._report)
        app.router.add_get("/v2/past_{kind:webinars|meetings}/{id}/qa", self._past_qa)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner, bound = await start_site(self.app(), host, port)
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def stop(self) -> None:
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeZoomCloud:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def subscription_url(self) -> str:
        return f"{self.base_url.replace('http://', 'ws://')}/ws?subscriptionId=sub-1"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/v2"

    # --- controls for tests and the demo ----------------------------------------------------

    @property
    def live_connections(self) -> int:
        return len(self._live)

    async def wait_live(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until `count` authenticated connections are open."""
        async with asyncio.timeout(timeout):
            while len(self._live) < count:
                self._changed.clear()
                await self._changed.wait()

    async def send_event(self, body: dict[str, Any] | str, *, as_object: bool = False) -> int:
        """Send an event to every connected client as a `message` frame; returns how many."""
        content: Any = body if as_object or isinstance(body, str) else json.dumps(body)
        frame = json.dumps({"module": "message", "content": content})
        return await self.send_frame(frame)

    async def send_frame(self, frame: str) -> int:
        sent = 0
        for ws in list(self._live):
            if not ws.closed:
                await ws.send_str(frame)
                sent += 1
        return sent

    async def drop(self, abrupt: bool = True) -> None:
        """End every connection: `abrupt` closes the TCP connection without a close frame."""
        for ws, request in list(self._live.items()):
            if abrupt and request.transport is not None:
                request.transport.close()
            else:
                await ws.close(code=1011, message=b"going away")
        self._live.clear()

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # --- handlers ---------------------------------------------------------------------------

    def _valid(self, token: str | None) -> bool:
        expiry = self.tokens.get(token or "")
        return expiry is not None and time.monotonic() < expiry

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        auth = request.headers.get("Authorization", "")
        try:
            basic = aiohttp.BasicAuth.decode(auth) if auth else None
        except ValueError:
            basic = None
        if basic is None or (basic.login, basic.password) != (self.client_id, self.client_secret):
            return web.json_response({"reason": "Invalid client_id or client_secret",
                                      "error": "invalid_client"}, status=401)
        grant = request.query.get("grant_type")
        if grant not in ("account_credentials", "client_credentials"):
            return web.json_response({"reason": "unsupported grant type",
                                      "error": "unsupported_grant_type"}, status=400)
        if grant == "account_credentials" and request.query.get("account_id") != self.account_id:
            return web.json_response({"reason": "Invalid account_id",
                                      "error": "invalid_request"}, status=400)
        token = f"token-{next(self._ids)}"
        self.tokens[token] = time.monotonic() + self.token_lifetime
        return web.json_response({"access_token": token, "token_type": "bearer",
                                  "expires_in": self.token_lifetime, "scope": "marketplace:read"})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        if not self._valid(request.query.get("access_token")):
            self.refused += 1
            await ws.send_json({"module": "build_connection", "success": False,
                                "content": "Invalid Token"})
            await ws.close()
            return ws
        await ws.send_json({"module": "build_connection", "success": True,
                            "content": "sessionId"})
        self._live[ws] = request
        self._changed.set()
        try:
            async for message in ws:
                if message.type is not web.WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(message.data)
                except ValueError:
                    continue
                if isinstance(frame, dict) and frame.get("module") == "heartbeat":
                    self.heartbeats += 1
                    if self.ack_heartbeats:
                        await ws.send_json({"module": "heartbeat", "success": True})
        finally:
            self._live.pop(ws, None)
            self._changed.set()
        return ws

    def _refuse(self, request: web.Request) -> web.Response | None:
        self.report_requests.append(request.path)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not self._valid(auth[len("Bearer "):]):
            return web.json_response({"code": 124, "message": "Invalid access token."},
                                     status=401)
        return None

    async def _past_qa(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        return refused if refused is not None else _lookup(self.past_qa, request)

    async def _report(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        if self.report_status is not None:
            return web.json_response({"code": 200, "message": "No permission."},
                                     status=self.report_status)
        return _lookup(self.reports, request)


def _lookup(table: dict[tuple[str, str], dict[str, Any]], request: web.Request) -> web.Response:
    """The entry for the path's {kind}/{id}, or Zoom's 404 for an unknown meeting/webinar."""
    kind, ident = request.match_info["kind"].rstrip("s"), request.match_info["id"]
    found = table.get((kind, ident))
    if found is None:
        return web.json_response({"code": 3001, "message": f"{kind.title()} does not exist: "
                                  f"{ident}."}, status=404)
    return web.json_response(found)


def file_event(file_name: str, *, kind: str = "meeting", message_id: str | None = None,
               sender_name: str = "Ada Lovelace", recipient_type: str = "everyone",
               meeting_id: int = 85746065432, **extra: Any) -> dict[str, Any]:
    """A `meeting.chat_message_file_sent` (or `webinar.`) body: the object names the meeting
    `meeting_id`/`meeting_uuid` (or `webinar_...`), the file sits in `chat_message_file`."""
    now_ms = int(time.time() * 1000)
    shared: dict[str, Any] = {
        "date_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_ms / 1000)),
        "sender_session_id": "16778240", "sender_name": sender_name, "sender_type": "guest",
        "recipient_type": recipient_type,
        "message_id": message_id or f"MS17{uuid.uuid4().hex}fQ==",
        "file_id": uuid.uuid4().hex, "file_name": file_name, "file_size": 52_311,
        "file_type": "pdf", "download_url": "https://zoom.example/file?token=secret-download",
        **extra,
    }
    return {"event": f"{kind}.chat_message_file_sent", "event_ts": now_ms,
            "payload": {"account_id": "AAAAAABBBB",
                        "object": {f"{kind}_id": meeting_id,
                                   f"{kind}_uuid": "4444AAAiAAAAAiAiAiiAii==",
                                   "chat_message_file": shared}}}
