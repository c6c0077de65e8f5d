"""The YouTube live chat collector.

1. Find the chat: `[youtube] live_chat_id`, or `videos.list(part=liveStreamingDetails)` for the
   configured video (`activeLiveChatId`; until the stream starts, ask again every 30 s and show
   "waiting for the stream to start"), or, with OAuth and no video, the active broadcast.
2. Read it by `[youtube] transport`:
   - `stream` (and `auto`, the default): the server-streaming chat (youtube_stream.py). Each
     element arrives as the chat happens; the server ends a connection after a while, and we
     reconnect from the last page token, no sooner than the last `pollingIntervalMillis` and
     no sooner than the quota plan allows (each connection counts `stream_call_units`).
   - `poll`: `liveChatMessages.list(maxResults=2000, pageToken)`, every
     `max(pollingIntervalMillis, quota floor)` (youtube_quota.py); a full page is followed at
     once by the next call.
   `auto` polls instead when the stream is not offered (404 other than an unknown chat) or is
   refused (403 other than quota, speed or the chat's end); the health says which transport
   is in use and why.
3. A streamed element and a polled page go through the same handler: its messages and the
   checkpoint after them (the next page token, the quota count, the moderation events still
   to apply) are committed in one transaction, so a restart resumes exactly where the last
   commit left off: nothing lost, nothing stored twice (the queue is idempotent on the message
   id as well). The first page of a chat (its backlog) is flagged `history`.
4. Deletions and retractions `withdraw` the question; bans `flag_author` banned_author. They are
   checkpointed with the page as "pending" and applied right after its commit, so a crash in
   between applies them on restart (both commands are idempotent here).
5. Errors by reason code (youtube_client.py): transient ones back off from the current interval,
   the chat's end ends the collector, a missing chat is resolved again once, quota and
   permission problems stop it with a message saying what to do. Nothing here crashes the
   process: the supervisor (base.py) turns anything unexpected into backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from ..commands import Command, CommandError
from ..config import Config
from ..health import HealthRegistry
from ..model import Question, Source, parse_iso, to_iso
from ..queue import Checkpoint
from .base import (
    Backoff,
    CollectorEnded,
    CollectorStopped,
    Sink,
    retry_time,
    submit_counted,
)
from .youtube_client import (
    AUTH, ENDED, NOT_FOUND, PAGE_TOKEN, QUOTA, REVOKED, TRANSIENT, ApiError, YouTubeApi,
    stream_refused,
)
from .youtube_parse import Page, parse_page, parse_video_id, read_broadcast_chat, read_video_chat
from .youtube_quota import (
    COSTS, POLL_COST, QuotaPlan, pacific_day, plan_interval, projected_units, quota_reset_at,
    seconds_left,
)
from .youtube_stream import StreamClient

log = logging.getLogger("townhall.youtube")

NAME = "youtube"
CHECKPOINT = "youtube"
ACTOR = "youtube"  # the audit log's actor for moderation done in the YouTube chat
MAX_RESULTS = 2000
PARTS = "id,snippet,authorDetails"


@dataclass
class Timing:
    """Delays, injectable so tests run fast; the defaults are the production values."""

    resolve_retry: float = 30.0   # asking again for a stream that has not started
    min_interval: float = 1.0     # never poll faster than this, whatever the server says
    backoff_cap: float = 60.0
    http_timeout: float = 30.0


class YouTubeSink(Sink, Protocol):
    def find(self, source: str, external_id: str) -> Question | None: ...


@dataclass
class State:
    """The checkpoint: where we are in which chat, the day's quota count, pending moderation."""

    chat_id: str | None = None
    page_token: str | None = None
    history_done: bool = False
    chat_seen_at: str | None = None
    quota_day: str = ""
    quota_units: int = 0
    pending: list[dict[str, str]] = field(default_factory=list)

    def to_value(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_value(cls, value: Any) -> State:
        if not isinstance(value, dict):
            return cls()
        state = cls()
        for key, default in cls().__dict__.items():
            if key in value and isinstance(value[key], type(default) if default is not None
                                           else str):
                setattr(state, key, value[key])
        state.pending = [a for a in state.pending if isinstance(a, dict)]
        return state


class YouTubeCollector:
    name = NAME

    def __init__(self, config: Config, health: HealthRegistry, *, api: YouTubeApi | None = None,
                 timing: Timing | None = None,
                 clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.config = config
        self.health = health
        self.timing = timing or Timing()
        self._given_api = api
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._sleep = sleep or asyncio.sleep
        self.state = State()
        self.api: YouTubeApi | None = None
        self._sink: YouTubeSink | None = None
        self._backoff: Backoff | None = None
        self._auth_retried = False
        self._re_resolved = False
        self._current_interval = self.timing.min_interval
        self._call_cost = POLL_COST  # what one call of the transport in use costs
        self._cycle = 0.0  # the last start-to-start time of those calls, for the projection
        self._server_wait = 0.0  # the last pollingIntervalMillis, in seconds
        self.connections = 0  # stream connections opened by this collector
        self.transport = ""  # "stream" or "poll" once reading the chat

    # --- the run ----------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        self._sink = sink  # type: ignore[assignment]  # the queue has find()
        self.state = State.from_value(sink.checkpoint(CHECKPOINT))
        self._roll_quota_day()
        self.api = self._given_api or await self._open_api()
        await self._apply_moderation()  # left pending by a crash after the last page's commit
        chat_id = await self._resolve()
        self._enter_chat(chat_id)
        self._re_resolved = False
        transport = self.config.youtube.transport
        why = f'[youtube] transport = "{transport}"'
        if transport != "poll":
            refused = await self._stream(why)  # returns only when auto should poll instead
            why = f"the stream answered {refused}"
            log.warning("YouTube: %s; polling instead", why)
        await self._poll(why)

    async def _open_api(self) -> YouTubeApi:
        from ..youtube_login import TokenError, load_credentials, save_credentials

        yt = self.config.youtube
        if yt.oauth_token_file:
            path = self.config.relative(yt.oauth_token_file)
            try:
                creds = await asyncio.to_thread(load_credentials, path)
            except TokenError as exc:
                raise CollectorStopped(str(exc)) from None
            return YouTubeApi(credentials=creds, api_endpoint=yt.api_endpoint,
                              timeout=self.timing.http_timeout,
                              on_token_refreshed=lambda c: save_credentials(c, path))
        key = self.config.secret(yt.api_key_env)
        if not key:
            raise CollectorStopped(
                f"no API key: set the environment variable {yt.api_key_env or '(unnamed)'} "
                "(named by [youtube] api_key_env), or use [youtube] oauth_token_file")
        return YouTubeApi(api_key=key, api_endpoint=yt.api_endpoint,
                          timeout=self.timing.http_timeout)

    # --- finding the chat -------------------------------------------------------------------

    async def _resolve(self) -> str:
        yt = self.config.youtube
        if yt.live_chat_id:
            return yt.live_chat_id
        video_id = parse_video_id(yt.video) if yt.video else None
        if yt.video and video_id is None:
            raise CollectorStopped(f"[youtube] video {yt.video!r} is not a YouTube video URL "
                                   "or id (use a watch, youtu.be or /live/ URL)")
        if video_id is None and not self.api.uses_oauth:  # type: ignore[union-attr]
            raise CollectorStopped("set [youtube] video (or live_chat_id); finding your active "
                                   "broadcast without them needs OAuth (oauth_token_file)")
        while True:
            try:
                chat_id = await self._find_chat(video_id)
            except ApiError as exc:
                await self._save()
                await self._recover(exc, self.timing.resolve_retry)
                continue
            await self._save()
            if chat_id:
                return chat_id
            self.health.set(NAME, "waiting", "waiting for the stream to start",
                            retry_at=retry_time(self.timing.resolve_retry))
            await self._sleep(self.timing.resolve_retry)

    async def _find_chat(self, video_id: str | None) -> str | None:
        if video_id is None:
            response = await self._call("liveBroadcasts.list", part="snippet",
                                        broadcastStatus="active", broadcastType="all")
            return read_broadcast_chat(response)
        chat = read_video_chat(await self._call("videos.list", part="liveStreamingDetails",
                                                id=video_id))
        if not chat.found:
            raise CollectorStopped(f"video {video_id} was not found: check [youtube] video "
                                   "(a private or deleted video is not visible to the API)")
        if chat.ended:
            raise CollectorEnded(f"the stream of video {video_id} has already ended")
        if chat.started_at and self._sink is not None:  # kept for the notes' time links
            await self._sink.apply(Command(op="recording_started", args={
                "at": chat.started_at, "source": "youtube"}), ACTOR)
        return chat.chat_id

    def _enter_chat(self, chat_id: str) -> None:
        if chat_id != self.state.chat_id:
            self.state = State(chat_id=chat_id, chat_seen_at=to_iso(self._clock()),
                               quota_day=self.state.quota_day,
                               quota_units=self.state.quota_units)

    # --- reading the chat: polling and streaming feed the same page handler ----------------

    async def _poll(self, why: str) -> None:
        self.transport, self._call_cost = "poll", POLL_COST
        self.health.update_detail(NAME, transport="poll", transport_reason=why,
                                  stream_reconnect_seconds=None)
        while True:
            if self._plan().interval is None:
                raise CollectorStopped(self._quota_message("Townhall's budget"))
            token = self.state.page_token
            try:
                response = await self._call(
                    "liveChatMessages.list", liveChatId=self.state.chat_id, part=PARTS,
                    maxResults=MAX_RESULTS, **({"pageToken": token} if token else {}))
            except ApiError as exc:
                await self._failed(exc, token)
                continue
            self._backoff, self._auth_retried = None, False
            page = parse_page(response, history=not self.state.history_done)
            await self._take(page)
            interval = self._interval(page)
            self.health.set(NAME, "live", f"polling every {interval:.1f} s ({why})")
            await self._sleep(interval)

    async def _stream(self, why: str) -> str:
        """Stream until the chat ends or stops; in `auto`, return why the stream was refused
        (then the caller polls)."""
        assert self.api is not None
        auto = self.config.youtube.transport == "auto"
        self.transport = "stream"
        self._call_cost = cost = self.config.youtube.stream_call_units
        self.health.update_detail(NAME, transport="stream", transport_reason=why,
                                  poll_interval_seconds=None)
        client = StreamClient(self.api, read_timeout=self.timing.http_timeout)
        loop = asyncio.get_running_loop()
        try:
            while True:
                if self._plan().interval is None:
                    raise CollectorStopped(self._quota_message("Townhall's budget"))
                token = self.state.page_token
                started = loop.time()
                self._spend(cost)
                self.connections += 1
                self.health.set(NAME, "live", f"streaming the chat ({why})",
                                stream_connections=self.connections)
                try:
                    async with contextlib.aclosing(client.elements(
                            self.state.chat_id or "", PARTS, token)) as elements:
                        async for element in elements:
                            self._backoff, self._auth_retried = None, False
                            page = parse_page(element, history=not self.state.history_done)
                            if page.polling_millis is not None:
                                self._server_wait = page.polling_millis / 1000
                            await self._take(page)
                except ApiError as exc:
                    if auto and stream_refused(exc):
                        return exc.describe()
                    await self._failed(exc, token)
                    continue
                await self._sleep(self._reconnect_delay(started, loop.time()))
        finally:
            await client.aclose()

    def _reconnect_delay(self, started: float, now: float) -> float:
        """No sooner than the server's interval after the end of the last connection, nor
        than the quota plan's interval after its start."""
        plan = self._plan()
        delay = max(self._server_wait, started + (plan.interval or 0.0) - now,
                    self.timing.min_interval)
        self._current_interval = max(self._server_wait, self.timing.min_interval)
        self._cycle = now - started + delay
        self.health.update_detail(NAME, stream_reconnect_seconds=round(delay, 2))
        self._publish_quota()
        return delay

    async def _failed(self, exc: ApiError, token: str | None) -> None:
        """What a failed call or connection leads to, alike for both transports."""
        if exc.kind == NOT_FOUND and not self._re_resolved and not self.config.youtube.live_chat_id:
            self._re_resolved = True
            log.warning("live chat not found; resolving it again")
            self._enter_chat(await self._resolve())
            return
        if exc.kind == PAGE_TOKEN and token:
            log.warning("page token refused; starting again from the recent messages")
            self.state.page_token = None
            return
        await self._save()
        await self._recover(exc, self._current_interval)

    async def _take(self, page: Page) -> None:
        await self._store(page)
        if page.chat_ended or page.offline_at:
            raise CollectorEnded("the live chat has ended"
                                 + (f" (offline at {page.offline_at})" if page.offline_at
                                    else ""))

    async def _store(self, page: Page) -> None:
        sink = self._sink
        assert sink is not None
        self.state.page_token = page.next_page_token or self.state.page_token
        self.state.history_done = True
        self.state.pending = page.moderation
        await submit_counted(sink, self.health, NAME, page.incomings,
                             Checkpoint(CHECKPOINT, self.state.to_value()))
        await self._apply_moderation()

    async def _apply_moderation(self) -> None:
        sink = self._sink
        if not self.state.pending or sink is None:
            return
        for action in self.state.pending:
            command = self._moderation_command(sink, action)
            if command is None:
                continue
            try:
                await sink.apply(command, ACTOR)
            except CommandError as exc:  # e.g. the question was merged meanwhile
                log.info("YouTube moderation %s not applied: %s", action.get("op"), exc)
        self.state.pending = []
        await self._save()

    @staticmethod
    def _moderation_command(sink: YouTubeSink, action: dict[str, str]) -> Command | None:
        if action.get("op") == "withdraw":
            question = sink.find(Source.YOUTUBE, action.get("external_id", ""))
            if question is None or "withdrawn" in question.flags:
                return None  # never stored (before our backlog), or already done
            return Command(op="withdraw", question=question.id)
        if action.get("op") == "flag_author" and action.get("identity"):
            return Command(op="flag_author",
                           args={"identity": action["identity"], "flag": "banned_author"})
        return None

    def _interval(self, page: Page) -> float:
        if page.item_count >= MAX_RESULTS:
            return 0.0  # a full page: more is waiting, fetch it now (the plan absorbs it)
        plan = self._plan()
        server = (page.polling_millis or 0) / 1000
        interval = max(server, plan.interval or 0.0, self.timing.min_interval)
        self._current_interval = self._cycle = interval
        self.health.update_detail(NAME, poll_interval_seconds=round(interval, 2))
        self._publish_quota()
        return interval

    # --- calls, quota and failures ----------------------------------------------------------

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        assert self.api is not None
        self._spend(COSTS[method])
        return await self.api.call(method, **params)

    def _spend(self, units: int) -> None:
        """Count a call (every call counts, even a failed one) before making it."""
        self._roll_quota_day()
        self.state.quota_units += units
        self._publish_quota()

    def _roll_quota_day(self) -> None:
        today = pacific_day(self._clock())
        if self.state.quota_day != today:
            self.state.quota_day, self.state.quota_units = today, 0

    def _plan(self) -> QuotaPlan:
        now = self._clock()
        return plan_interval(daily_units=self.config.youtube.daily_quota_units,
                             spent=self.state.quota_units,
                             seconds_left=seconds_left(now, self._meeting_end(now)),
                             poll_cost=self._call_cost)

    def _meeting_end(self, now: datetime) -> datetime:
        """The configured start + duration; without a start (or a stale one from an earlier
        meeting), the time we first saw this chat + duration."""
        duration = timedelta(minutes=self.config.meeting.duration_minutes)
        seen = parse_iso(self.state.chat_seen_at) if self.state.chat_seen_at else now
        if self.config.meeting.starts_at:
            end = parse_iso(self.config.meeting.starts_at) + duration
            if end > seen:
                return end
        return seen + duration

    def _publish_quota(self) -> None:
        plan = self._plan()
        projected = plan.projected if plan.interval is None else projected_units(
            self.state.quota_units, plan.horizon, max(plan.interval, self._cycle),
            self._call_cost)
        self.health.update_detail(
            NAME, quota_units_spent=self.state.quota_units,
            quota_daily_units=self.config.youtube.daily_quota_units,
            quota_projected_units=projected,
            quota_resets_at=to_iso(quota_reset_at(self._clock())))

    def _quota_message(self, whose: str) -> str:
        reset = quota_reset_at(self._clock())
        return (f"the YouTube API quota for today is used up ({whose}: "
                f"{self.state.quota_units} of {self.config.youtube.daily_quota_units} units); "
                f"it renews at midnight Pacific time, {to_iso(reset)}. Restart then, or ask "
                "Google for more quota and raise [youtube] daily_quota_units")

    async def _save(self) -> None:
        if self._sink is not None:
            await self._sink.save_checkpoint(Checkpoint(CHECKPOINT, self.state.to_value()))

    async def _recover(self, exc: ApiError, interval: float) -> None:
        """Sleep before retrying a transient failure; raise for anything a retry cannot fix."""
        if exc.kind == TRANSIENT:
            if self._backoff is None:
                self._backoff = Backoff(initial=max(interval, self.timing.min_interval),
                                        maximum=self.timing.backoff_cap)
            delay = self._backoff.next_delay()
            log.warning("YouTube: %s; retrying in %.1f s", exc.describe(), delay)
            self.health.set(NAME, "backoff", exc.describe(), retry_at=retry_time(delay))
            await self._sleep(delay)
            return
        if exc.kind == AUTH and self.api is not None and self.api.uses_oauth \
                and not self._auth_retried:
            self._auth_retried = True
            try:
                await self.api.refresh_credentials()
            except ApiError as refresh_failed:
                raise CollectorStopped(refresh_failed.message) from None
            return
        if exc.kind == QUOTA:
            self.state.quota_units = max(self.state.quota_units,
                                         self.config.youtube.daily_quota_units)
            await self._save()
            raise CollectorStopped(self._quota_message("Google says"))
        if exc.kind == ENDED:
            raise CollectorEnded("the live chat has ended")
        raise CollectorStopped(_stop_message(exc, self.api is not None and self.api.uses_oauth,
                                             streaming=self.transport == "stream"))


_HINTS = {
    "forbidden": "this chat cannot be read with these credentials (private or members-only?); "
                 "try OAuth with `townhall youtube-login` as the channel owner",
    "liveChatDisabled": "live chat is turned off for this stream",
    "liveChatNotFound": "check [youtube] video or live_chat_id",
    "keyInvalid": "check the API key in the environment variable [youtube] api_key_env names",
}


def _stop_message(exc: ApiError, oauth: bool, *, streaming: bool = False) -> str:
    if exc.kind == REVOKED:
        return exc.message
    hint = _HINTS.get(exc.reason or "")
    if hint is None and streaming and exc.status == 404:
        hint = 'the chat stream is not offered here: set [youtube] transport = "auto" or "poll"'
    if hint is None and exc.kind == AUTH:
        hint = ("run `townhall youtube-login` again" if oauth
                else "check the API key in the environment variable [youtube] api_key_env names")
    return f"YouTube refused: {exc.describe()}" + (f"; {hint}" if hint else "")
