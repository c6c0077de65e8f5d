"""Helpers for the YouTube tests: the fake API with one live video, a config pointing at it,
fast timing, a runner."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aggregator.collectors.youtube import Timing, YouTubeCollector
from aggregator.config import Config, MeetingConfig, StoreConfig, YouTubeConfig
from aggregator.health import HealthRegistry
from aggregator.queue import QuestionQueue
from townhall.simulators.youtube_api import FakeYouTubeAPI

KEY_ENV = "TOWNHALL_TEST_YOUTUBE_KEY"
VIDEO = "dQw4w9WgXcQ"
FAST = Timing(resolve_retry=0.05, min_interval=0.01, backoff_cap=0.05, http_timeout=5)


def yt_config(url: str, db: Path | None = None, **youtube: Any) -> Config:
    # polling unless a test asks for the stream: the tests written for `list` stay about `list`
    settings: dict[str, Any] = {"enabled": True, "video": VIDEO, "api_key_env": KEY_ENV,
                                "api_endpoint": url, "daily_quota_units": 10_000_000,
                                "transport": "poll"}
    settings.update(youtube)
    return Config(youtube=YouTubeConfig(**settings), meeting=MeetingConfig(duration_minutes=60),
                  store=StoreConfig(path=str(db) if db else None))


@contextlib.asynccontextmanager
async def live_video(**options: Any) -> AsyncIterator[FakeYouTubeAPI]:
    """FakeYouTubeAPI (`options` as it takes them) on loopback, VIDEO live with chat "chat-1"."""
    async with FakeYouTubeAPI(**options) as api:
        api.add_video(VIDEO, "chat-1")
        yield api


class Sleeps:
    """An injectable sleep that records every delay and sleeps only briefly."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(min(delay, 0.01))


def collector(config: Config, health: HealthRegistry | None = None, **kw: Any
              ) -> YouTubeCollector:
    kw.setdefault("timing", FAST)
    return YouTubeCollector(config, health or HealthRegistry(), **kw)


async def run_until(c: YouTubeCollector, queue: QuestionQueue,
                    done: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run the collector until `done()` holds (bounded), then stop it like a shutdown does."""
    task = asyncio.create_task(c.run(queue))
    try:
        async with asyncio.timeout(timeout):
            while not done():
                if task.done():
                    task.result()  # raise what ended it
                    raise AssertionError("the collector finished before the condition held")
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_to_end(c: YouTubeCollector, queue: QuestionQueue, timeout: float = 10.0) -> None:
    """Run until the collector ends or stops by itself; its exception propagates."""
    async with asyncio.timeout(timeout):
        await c.run(queue)


def texts(queue: QuestionQueue) -> list[str]:
    return [q.text for q in sorted(queue.all(), key=lambda q: q.id)]
