"""A fake YouTube Data API (aiohttp) for tests, benchmarks and `townhall demo`.

It answers the real google-api-python-client when the client is built with
`client_options={"api_endpoint": fake.url}`, with the response and error shapes of the real
Data API (docs/platforms.md, YouTube):

- `GET /youtube/v3/videos?part=liveStreamingDetails&id=V` (1 unit)
- `GET /youtube/v3/liveBroadcasts?part=snippet&broadcastStatus=active` (OAuth only, 1 unit)
- `GET /youtube/v3/liveChat/messages?liveChatId=C&part=...&maxResults=N&pageToken=T` (5 units)
- `GET /youtube/v3/liveChat/messages/stream?liveChatId=C&part=...&pageToken=T` (the
  server-streaming chat, `stream_units` per connection): a chunked body holding one JSON array;
  its first element is what `list` would answer, then an element for each batch of new
  messages (looked for every `stream_tick` s), an empty one with the same token after
  `stream_heartbeat` s of quiet, and the array ends after `stream_seconds`. A reconnect sooner
  than `pollingIntervalMillis` after the previous connection's end is refused (429,
  RESOURCE_EXHAUSTED); with `stream_enabled = False` the path answers 404 as an unknown one
  does. Errors are `[{"error": {...}}]`. `stream_chunk_bytes` splits every write into chunks of
  that many bytes, so readers meet chunk boundaries anywhere.
- `POST /token`: a stand-in for Google's OAuth token endpoint (authorization code and refresh
  token grants), so the OAuth paths can run locally too.

It is scriptable from the test or the demo: `say`, `superchat`, `sticker`, `milestone`, `gift`,
`delete`, `retract`, `ban`, `end_chat`, `fail` (queue error responses by reason code),
`add_video` / `start_stream` (a stream that has not started has no `activeLiveChatId`). Every
request is recorded in `requests`, and quota units are counted like Google counts them.

Paging follows the documented behaviour: the first call without `pageToken` returns only the
most recent messages (at most `history_limit`), oldest first; `nextPageToken` continues exactly
after the last message returned. After `end_chat` the responses carry `offlineAt`, and once a
reader has everything, further calls fail with `liveChatEnded`.

State is guarded by a lock, so the server can also run in its own thread (`start_in_thread`),
which keeps a benchmark's load generator off the collector's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from aggregator.server.site import start_site

from .youtube_chat_script import MODERATOR, ChatScript

COSTS = {"videos": 1, "liveBroadcasts": 1, "messages": 5, "stream": 5}
STREAM_PAGE = 2000  # the most items one streamed element carries
ERROR_STATUS = {
    "rateLimitExceeded": 403, "quotaExceeded": 403, "forbidden": 403, "liveChatDisabled": 403,
    "liveChatEnded": 403, "liveChatNotFound": 404, "pageTokenInvalid": 400, "authError": 401,
    "backendError": 503, "keyInvalid": 400,
}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class Chat:
    chat_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    offline_at: str | None = None
    disabled: bool = False


@dataclass
class Video:
    video_id: str
    chat_id: str
    live: bool = True
    ended: bool = False
    #: when the stream went live: the demo's notes link into the recording from this moment
    started_at: str = field(default_factory=lambda: _now())


@dataclass
class RecordedRequest:
    path: str
    params: dict[str, str]
    authorization: str | None
    at: float


class FakeYouTubeAPI(ChatScript):
    def __init__(self, *, api_key: str = "test-key", polling_millis: int = 100,
                 history_limit: int = 200, daily_quota: int | None = None,
                 stream_enabled: bool = True, stream_seconds: float = 10.0,
                 stream_tick: float = 0.05, stream_heartbeat: float = 3.0,
                 stream_units: int = 5, stream_chunk_bytes: int | None = None) -> None:
        self.api_key = api_key
        self.stream_enabled = stream_enabled
        self.stream_seconds, self.stream_tick = stream_seconds, stream_tick
        self.stream_heartbeat, self.stream_chunk_bytes = stream_heartbeat, stream_chunk_bytes
        self.costs = {**COSTS, "stream": stream_units}
        self.stream_connections = 0  # accepted stream connections
        self.stream_too_soon = 0  # reconnects refused as too fast
        self._stream_ended: dict[str, float] = {}  # chat id -> monotonic end of the last one
        self._stream_latest: dict[str, int] = {}  # chat id -> serial of its newest connection
        self.polling_millis = polling_millis
        self.history_limit = history_limit
        self.daily_quota = daily_quota
        self.units = 0
        self.chats: dict[str, Chat] = {}
        self.videos: dict[str, Video] = {}
        self.broadcast_chats: list[str] = []
        self.requests: list[RecordedRequest] = []
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self._failures: list[tuple[str, str, int]] = []  # (endpoint, reason, status)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self.url = ""

    # --- lifecycle --------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/youtube/v3/videos", self._videos)
        app.router.add_get("/youtube/v3/liveBroadcasts", self._broadcasts)
        app.router.add_get("/youtube/v3/liveChat/messages", self._messages)
        app.router.add_get("/youtube/v3/liveChat/messages/stream", self._stream)
        app.router.add_post("/token", self._token)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner, bound = await start_site(self.app(), host, port)
        self.url = f"http://{host}:{bound}/"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeYouTubeAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve from a thread with its own event loop; returns the URL."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._thread_loop = loop
            loop.run_until_complete(self.start(host, port))
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-youtube", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake YouTube API did not start")
        return self.url

    def stop_thread(self) -> None:
        if self._thread is not None and self._thread_loop is not None:
            self._thread_loop.call_soon_threadsafe(self._thread_loop.stop)
            self._thread.join(10)
            self._thread = None

    # --- scripting --------------------------------------------------------------------------

    def add_video(self, video_id: str, chat_id: str | None = None, *, live: bool = True) -> str:
        """A video whose chat is `chat_id`; with live=False the stream has not started yet."""
        chat_id = chat_id or f"chat-{video_id}"
        with self._lock:
            self.videos[video_id] = Video(video_id, chat_id, live=live)
            self.chats.setdefault(chat_id, Chat(chat_id))
        return chat_id

    def add_chat(self, chat_id: str, *, broadcast: bool = False) -> str:
        with self._lock:
            self.chats.setdefault(chat_id, Chat(chat_id))
            if broadcast:
                self.broadcast_chats.append(chat_id)
        return chat_id

    def start_stream(self, video_id: str) -> None:
        with self._lock:
            self.videos[video_id].live = True

    def fail(self, reason: str, *, count: int = 1, status: int | None = None,
             endpoint: str = "messages") -> None:
        """The next `count` requests to `endpoint` (messages, videos, liveBroadcasts) fail."""
        with self._lock:
            self._failures += [(endpoint, reason, status or ERROR_STATUS.get(reason, 400))] * count

    def say(self, chat_id: str, text: str, *, channel: str = "UCviewer", name: str = "Viewer",
            published_at: str | None = None, message_id: str | None = None) -> str:
        return self.add_item(chat_id, "textMessageEvent",
                             {"textMessageDetails": {"messageText": text}}, display=text,
                             channel=channel, name=name, published_at=published_at,
                             message_id=message_id)

    def say_many(self, chat_id: str, texts: list[str], *, channel: str = "UCviewer",
                 name: str = "Viewer") -> list[str]:
        """Many text messages from a few dozen viewers (load generators, the demo)."""
        return [self.say(chat_id, text, channel=f"{channel}{i % 97}", name=name)
                for i, text in enumerate(texts)]

    def end_chat(self, chat_id: str) -> None:
        """The stream goes offline: a chatEndedEvent, then `offlineAt` on every response."""
        self.add_item(chat_id, "chatEndedEvent", {}, display=None, channel=MODERATOR[0],
                      name=MODERATOR[1])
        with self._lock:
            self.chats[chat_id].offline_at = _now()
            for video in self.videos.values():
                if video.chat_id == chat_id:
                    video.ended = True

    def add_item(self, chat_id: str, kind: str, details: dict[str, Any], *, display: str | None,
                 channel: str, name: str, published_at: str | None = None,
                 message_id: str | None = None) -> str:
        """Append any liveChatMessage; `details` is merged into the snippet."""
        with self._lock:
            message_id = message_id or f"LCC.fake{next(self._ids):08d}"
            snippet: dict[str, Any] = {
                "type": kind, "liveChatId": chat_id, "authorChannelId": channel,
                "publishedAt": published_at or _now(), "hasDisplayContent": display is not None,
                **details,
            }
            if display is not None:
                snippet["displayMessage"] = display
            self.chats[chat_id].messages.append({
                "kind": "youtube#liveChatMessage", "etag": f"e{message_id}", "id": message_id,
                "snippet": snippet,
                "authorDetails": {
                    "channelId": channel, "channelUrl": f"http://www.youtube.com/channel/{channel}",
                    "displayName": name, "profileImageUrl": "https://yt4.ggpht.com/x=s88",
                    "isVerified": False, "isChatOwner": False, "isChatSponsor": False,
                    "isChatModerator": channel == MODERATOR[0],
                },
            })
            return message_id

    def message_ids(self, chat_id: str) -> list[str]:
        with self._lock:
            return [m["id"] for m in self.chats[chat_id].messages]

    # --- handlers ---------------------------------------------------------------------------

    def _record(self, request: web.Request) -> tuple[dict[str, str], str | None]:
        params = dict(request.query)
        auth = request.headers.get("Authorization")
        with self._lock:
            self.requests.append(RecordedRequest(request.path, params, auth,
                                                 asyncio.get_running_loop().time()))
        return params, auth

    def _check(self, request: web.Request, endpoint: str) -> web.Response | None:
        """Authentication, quota and scripted failures, common to every API endpoint."""
        params, auth = self._record(request)
        wrap = endpoint == "stream"
        with self._lock:
            self.units += self.costs[endpoint]
            if auth is not None:
                if auth.removeprefix("Bearer ") not in self.access_tokens:
                    return _error(401, "authError", "Invalid Credentials", wrap)
            elif endpoint == "liveBroadcasts":
                return _error(401, "authError", "Login Required", wrap)
            elif params.get("key") != self.api_key:
                return _error(400, "keyInvalid", "API key not valid. Please pass a valid API key.",
                              wrap)
            if self.daily_quota is not None and self.units > self.daily_quota:
                return _error(403, "quotaExceeded", "The request cannot be completed because "
                                                    "you have exceeded your quota.", wrap)
            for index, (where, reason, status) in enumerate(self._failures):
                if where == endpoint:
                    del self._failures[index]
                    return _error(status, reason, f"scripted failure: {reason}", wrap)
        return None

    async def _videos(self, request: web.Request) -> web.Response:
        failed = self._check(request, "videos")
        if failed:
            return failed
        items = []
        with self._lock:
            for video_id in request.query.get("id", "").split(","):
                video = self.videos.get(video_id)
                if video is None:
                    continue
                details: dict[str, Any] = {"scheduledStartTime": "2026-03-05T17:00:00Z"}
                if video.live and not video.ended:
                    details["activeLiveChatId"] = video.chat_id
                    details["actualStartTime"] = video.started_at
                if video.ended:
                    details["actualEndTime"] = _now()
                items.append({"kind": "youtube#video", "id": video_id,
                              "liveStreamingDetails": details})
        return web.json_response({"kind": "youtube#videoListResponse", "items": items,
                                  "pageInfo": {"totalResults": len(items),
                                               "resultsPerPage": len(items)}})

    async def _broadcasts(self, request: web.Request) -> web.Response:
        failed = self._check(request, "liveBroadcasts")
        if failed:
            return failed
        with self._lock:
            active = [c for c in self.broadcast_chats if self.chats[c].offline_at is None]
        items = [{"kind": "youtube#liveBroadcast", "id": f"b-{chat}",
                  "snippet": {"title": "Office hours", "liveChatId": chat}} for chat in active]
        return web.json_response({"kind": "youtube#liveBroadcastListResponse", "items": items})

    async def _messages(self, request: web.Request) -> web.Response:
        failed = self._check(request, "messages")
        if failed:
            return failed
        query = request.query
        try:
            max_results = int(query.get("maxResults", "500"))
        except ValueError:
            max_results = -1
        if not 200 <= max_results <= 2000:
            return _error(400, "invalidValue", "maxResults must be between 200 and 2000")
        with self._lock:
            chat = self.chats.get(query.get("liveChatId", ""))
            if chat is None:
                return _error(404, "liveChatNotFound", "The live chat was not found.")
            start = _resume_at(chat, query.get("pageToken"),
                               len(chat.messages) - min(self.history_limit, max_results))
            if isinstance(start, web.Response):
                return start
            items = chat.messages[start:start + max_results]
            data = json.dumps(self._page(chat, start, items, f"p{start}"))
        return web.Response(text=data, content_type="application/json")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if not self.stream_enabled:
            self._record(request)
            raise web.HTTPNotFound()  # as for a path this server does not know
        failed = self._check(request, "stream")
        if failed:
            return failed
        query = request.query
        with self._lock:
            chat = self.chats.get(query.get("liveChatId", ""))
            if chat is None:
                return _error(404, "liveChatNotFound", "The live chat was not found.", True)
            ended = self._stream_ended.get(chat.chat_id)
            if ended is not None and time.monotonic() - ended < self.polling_millis / 1000:
                self.stream_too_soon += 1
                return _error(429, "rateLimitExceeded", "Resource has been exhausted (the "
                              "stream was reopened sooner than pollingIntervalMillis).", True,
                              status_name="RESOURCE_EXHAUSTED")
            position = _resume_at(chat, query.get("pageToken"),
                                  len(chat.messages) - self.history_limit, wrap=True)
            if isinstance(position, web.Response):
                return position
            self.stream_connections += 1
            serial = self._stream_latest[chat.chat_id] = self.stream_connections
        response = web.StreamResponse(headers={"Content-Type": "application/json; charset=UTF-8"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stream_seconds
        try:
            await self._stream_elements(response, chat, position, deadline)
            await self._write(response, "]")
            await response.write_eof()
        except ConnectionResetError:
            pass  # the reader went away (a client that stopped, or was killed)
        finally:
            with self._lock:  # an abandoned older connection noticed late does not count
                if self._stream_latest.get(chat.chat_id) == serial:
                    self._stream_ended[chat.chat_id] = time.monotonic()
        return response

    async def _stream_elements(self, response: web.StreamResponse, chat: Chat, position: int,
                               deadline: float) -> int:
        """Write elements until the deadline or the chat's end; returns the position reached."""
        loop = asyncio.get_running_loop()
        first, last_write = True, loop.time()
        while True:
            with self._lock:
                items = chat.messages[position:position + STREAM_PAGE]
                done = chat.offline_at is not None and position + len(items) >= len(
                    chat.messages)
                body = self._page(chat, position, items, f"s{position}")
                text = json.dumps(body) if first or items or done or (
                    loop.time() - last_write >= self.stream_heartbeat) else None
            if text is not None:
                await self._write(response, ("[" if first else ",") + text)
                first, last_write = False, loop.time()
                position += len(items)
            if done or loop.time() >= deadline:
                return position
            if len(items) < STREAM_PAGE:
                await asyncio.sleep(self.stream_tick)

    def _page(self, chat: Chat, position: int, items: list[dict[str, Any]],
              etag: str) -> dict[str, Any]:
        """A liveChatMessageListResponse: the body of a list page and of a stream element."""
        body: dict[str, Any] = {
            "kind": "youtube#liveChatMessageListResponse", "etag": etag,
            "nextPageToken": _encode_token(chat.chat_id, position + len(items)),
            "pollingIntervalMillis": self.polling_millis,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            "items": items,
        }
        if chat.offline_at:
            body["offlineAt"] = chat.offline_at
        return body

    async def _write(self, response: web.StreamResponse, text: str) -> None:
        data = text.encode()
        size = self.stream_chunk_bytes or len(data) or 1
        for offset in range(0, len(data), size):
            await response.write(data[offset:offset + size])

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = form.get("grant_type")
        with self._lock:
            if grant == "refresh_token" and form.get("refresh_token") not in self.refresh_tokens:
                return web.json_response({"error": "invalid_grant",
                                          "error_description": "Token has been expired or "
                                                               "revoked."}, status=400)
            if grant not in ("refresh_token", "authorization_code"):
                return web.json_response({"error": "unsupported_grant_type"}, status=400)
            access = f"access-{next(self._ids)}"
            self.access_tokens.add(access)
            body: dict[str, Any] = {"access_token": access, "expires_in": 3599,
                                    "token_type": "Bearer",
                                    "scope": "https://www.googleapis.com/auth/youtube.readonly"}
            if grant == "authorization_code":
                refresh = f"refresh-{next(self._ids)}"
                self.refresh_tokens.add(refresh)
                body["refresh_token"] = refresh
        return web.json_response(body)


def _error(status: int, reason: str, message: str, wrap: bool = False, *,
           status_name: str | None = None) -> web.Response:
    """Google's error body; the stream wraps it in its array (`[{"error": {...}}]`)."""
    domain = "youtube.quota" if reason == "quotaExceeded" else "youtube.liveChat"
    error: dict[str, Any] = {"code": status, "message": message, "errors": [
        {"message": message, "domain": domain, "reason": reason}]}
    if status_name:
        error["status"] = status_name
    body: Any = [{"error": error}] if wrap else {"error": error}
    return web.json_response(body, status=status)


def _resume_at(chat: Chat, token: str | None, first: int, *, wrap: bool = False
               ) -> int | web.Response:
    """Where a list or stream read starts: `first` (the recent history) without a page token,
    else the token's position; a token that is not valid, or one at the end of a chat that went
    offline, gets Google's error instead."""
    total = len(chat.messages)
    if token is None:
        return max(0, first)
    start = _decode_token(token, chat.chat_id)
    if start is None or start > total:
        return _error(400, "pageTokenInvalid", "The page token is not valid.", wrap)
    if chat.offline_at and start >= total:
        return _error(403, "liveChatEnded", "The live chat is no longer live.", wrap)
    return start


def _encode_token(chat_id: str, index: int) -> str:
    return base64.urlsafe_b64encode(f"{chat_id}\n{index}".encode()).decode()


def _decode_token(token: str, chat_id: str) -> int | None:
    try:
        chat, _, index = base64.urlsafe_b64decode(token.encode()).decode().partition("\n")
        return int(index) if chat == chat_id and int(index) >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None
