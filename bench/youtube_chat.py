"""Benchmark: one busy YouTube chat read by streaming and by polling, side by side.

The same chat, RATE messages/s for SECONDS (default 200/s for 60 s), is said at the same
moments into three fake YouTube APIs (townhall/simulators/youtube_api.py, each in its own
thread, as Google is elsewhere), each read by a real collector with production timing into its
own store, all in one process:

- streaming at a two-hour meeting's quota (10,000 units/day, `[meeting] duration_minutes =
  120`): the server ends each connection after 10 s, as observed at YouTube;
- polling `list` at the same quota: the interval is the quota floor, not the server's 1 s;
- streaming planned for a full day on one project (24 h of the same 10,000 units): the
  collector's clock starts at a Pacific midnight, so the plan spreads the budget over 24 h.

Measured for each: every message stored exactly once, the delay from `publishedAt` to the
commit (seen by a queue subscriber, which hears of a question only after its commit), quota
units per hour, and stream reconnects.

    python -m bench.youtube_chat [--seconds 60] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aggregator.collectors.base import supervise
from aggregator.collectors.youtube import YouTubeCollector
from aggregator.collectors.youtube_quota import PACIFIC
from aggregator.config import Config, MeetingConfig, StoreConfig, YouTubeConfig
from aggregator.health import HealthRegistry
from aggregator.model import parse_iso
from aggregator.queue import QuestionQueue
from aggregator.store import Store
from aggregator.subscription import Change
from bench._report import peak_rss_mb, table, write_section
from townhall.simulators.youtube_api import FakeYouTubeAPI

KEY_ENV = "TOWNHALL_BENCH_YOUTUBE_KEY"
CHAT = "bench-chat"
VIDEO = "dQw4w9WgXcQ"
NOTE = ("Reading the table: a streamed message waits for the fake's 50 ms look-out and the commit; one said while the collector waits its 1 s (`pollingIntervalMillis`) between two connections arrives with the next one, which sets the maximum. Polling at a 2-hour meeting's quota waits the quota floor (3.8 s) between calls. A full day on one project allows 396 units an hour: the plan spaces the 10 s connections about 45 s apart, start to start, so what is said in a gap waits for the next connection (up to ~35 s); nothing is lost. The three lanes share the process and its 2 cores, so latencies include each other's work.")


@dataclass
class Lane:
    """One transport under test: its fake API, collector, queue and what was observed."""

    label: str
    transport: str
    meeting_minutes: int
    full_day: bool = False
    fake: FakeYouTubeAPI = field(init=False)
    health: HealthRegistry = field(default_factory=HealthRegistry)
    delays: list[float] = field(default_factory=list)
    queue: Any = None
    store: Any = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fake = FakeYouTubeAPI(api_key="bench-key", polling_millis=1000,
                                   stream_seconds=10.0)


def feed(lanes: list[Lane], rate: int, seconds: float, stop: threading.Event) -> None:
    """Say `rate` messages per second in 20 ms slices into every lane's chat alike."""
    start = time.monotonic()
    sent = 0
    while not stop.is_set():
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        due = int(min(elapsed + 0.02, seconds) * rate)
        texts = [f"question {n}?" for n in range(sent, due)]
        for lane in lanes:
            lane.fake.say_many(CHAT, texts)
        sent = due
        time.sleep(0.02)


def full_day_clock() -> Any:
    """A clock that starts at a Pacific midnight and runs at real speed: a whole quota day
    lies ahead, whatever the time of the run."""
    today = datetime.now(PACIFIC).date()
    midnight = (datetime.combine(today, datetime.min.time(), tzinfo=PACIFIC)
                + timedelta(seconds=1))
    started = time.monotonic()
    return lambda: midnight.astimezone(timezone.utc) + timedelta(
        seconds=time.monotonic() - started)


async def start(lane: Lane, tmp: Path) -> None:
    url = lane.fake.start_in_thread()
    lane.fake.add_video(VIDEO, CHAT)
    config = Config(meeting=MeetingConfig(duration_minutes=lane.meeting_minutes),
                    store=StoreConfig(
                        path=str(tmp / f"{lane.transport}-{lane.meeting_minutes}.db")),
                    youtube=YouTubeConfig(enabled=True, video=VIDEO, api_key_env=KEY_ENV,
                                          api_endpoint=url, daily_quota_units=10_000,
                                          transport=lane.transport))  # type: ignore[arg-type]
    lane.store = Store(config.store_path).open()
    lane.queue = QuestionQueue(lane.store)
    await lane.queue.start()
    collector = YouTubeCollector(config, lane.health,
                                 clock=full_day_clock() if lane.full_day else None)
    subscription = lane.queue.subscribe(since=0)

    async def observe() -> None:
        async for event in subscription:
            if isinstance(event, Change) and event.question.version == 1:
                sent = parse_iso(event.question.sent_at or "")
                lane.delays.append((datetime.now(timezone.utc) - sent).total_seconds())

    lane.tasks = [asyncio.create_task(observe()),
                  asyncio.create_task(supervise(collector, lane.queue, lane.health))]
    lane.tasks.append(asyncio.create_task(_close_later(subscription)))


async def _close_later(subscription: Any) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        subscription.close()


async def finish(lane: Lane) -> dict[str, Any]:
    for task in lane.tasks:
        task.cancel()
    await asyncio.gather(*lane.tasks, return_exceptions=True)
    await lane.queue.flush()
    lane.fake.stop_thread()
    external = [q.external_id for q in lane.queue.all()]
    sent_ids = lane.fake.message_ids(CHAT)
    state = lane.health.get("youtube")
    detail = state.detail if state else {}
    calls = [r.at for r in lane.fake.requests if "/liveChat/messages" in r.path]
    cost = 5
    span = (calls[-1] - calls[0]) if len(calls) > 1 else float("nan")
    delays = lane.delays
    result = {
        "sent": len(sent_ids), "stored": len(external), "unique": len(set(external)),
        "missing": len(set(sent_ids) - set(external)),
        "calls": len(calls), "units": lane.fake.units,
        # the calls' own rate, start to start, without the start-up's head start
        "units_per_hour": cost * (len(calls) - 1) * 3600 / span if len(calls) > 1 else 0.0,
        "reconnects": max(lane.fake.stream_connections - 1, 0),
        "too_soon": lane.fake.stream_too_soon,
        "projected": detail.get("quota_projected_units"),
        "transport": f"{detail.get('transport')} ({detail.get('transport_reason')})",
        "p50": statistics.median(delays) if delays else float("nan"),
        "p95": statistics.quantiles(delays, n=20)[18] if len(delays) > 20 else float("nan"),
        "max": max(delays, default=float("nan")),
    }
    lane.store.close()
    return result


async def run(seconds: float, rate: int) -> list[tuple[Lane, dict[str, Any]]]:
    os.environ[KEY_ENV] = "bench-key"
    tmp = Path(tempfile.mkdtemp(prefix="townhall-bench-yt-"))
    lanes = [Lane("streaming, 2-hour meeting", "stream", 120),
             Lane("polling, 2-hour meeting", "poll", 120),
             Lane("streaming, a full day on one project", "stream", 24 * 60, full_day=True)]
    for lane in lanes:
        await start(lane, tmp)
    await asyncio.sleep(1.0)  # every lane has read the (empty) backlog
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(lanes, rate, seconds, stop))
    started = time.monotonic()
    feeder.start()
    total = int(seconds * rate)
    # the full-day lane may wait up to a planned interval (~45 s) after the feed ends
    while feeder.is_alive() or any(len(lane.queue) < total for lane in lanes):
        await asyncio.sleep(0.2)
        if time.monotonic() - started > seconds + 90:
            break
    stop.set()
    feeder.join()
    return [(lane, await finish(lane)) for lane in lanes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=200)
    args = parser.parse_args()
    print(f"feeding {args.rate} messages/s for {args.seconds:.0f} s into 3 lanes ...",
          flush=True)
    results = asyncio.run(run(args.seconds, args.rate))
    rows = [
        ["transport in use", *(r["transport"] for _, r in results), ""],
        ["messages sent / stored / unique",
         *(f"{r['sent']} / {r['stored']} / {r['unique']}" for _, r in results),
         "all stored exactly once"],
        ["missing", *(r["missing"] for _, r in results), "0"],
        ["publishedAt -> commit, median (s)", *(f"{r['p50']:.2f}" for _, r in results), ""],
        ["publishedAt -> commit, p95 (s)", *(f"{r['p95']:.2f}" for _, r in results),
         "streaming at a 2-hour meeting's quota: <= 1"],
        ["publishedAt -> commit, max (s)", *(f"{r['max']:.2f}" for _, r in results), ""],
        ["calls (list) or connections (stream)", *(r["calls"] for _, r in results), ""],
        ["stream reconnects", *(r["reconnects"] if lane.transport == "stream" else "-"
                                for lane, r in results), ""],
        ["reconnects refused as too fast", *(r["too_soon"] if lane.transport == "stream"
                                             else "-" for lane, r in results), "0"],
        ["units per hour (5 per call or connection)",
         *(f"{r['units_per_hour']:.0f}" for _, r in results),
         "2-hour meeting <= 4,750; full day <= 396"],
        ["units projected by the planned end", *(r["projected"] for _, r in results),
         "<= 9,500"],
    ]
    body = (f"The same chat, {args.rate} messages/s for {args.seconds:.0f} s, said at the same "
            "moments into three fake YouTube APIs (one thread each; `pollingIntervalMillis` "
            "1 s, a stream connection ended by the server after 10 s), each read by a real "
            "collector with production timing and a 10,000-unit day, in one process "
            "(`python -m bench.youtube_chat`). The usable budget is 9,500 units (5 % "
            "reserve): 4,750 units/h for a 2-hour meeting, 396 units/h over a full day.\n\n"
            + table(["measure", *(lane.label for lane, _ in results), "target"], rows)
            + f"\n\n{NOTE}\n\nPeak RSS of the process (three collectors, stores and fakes): "
              f"{peak_rss_mb():.0f} MB.")
    print(body)
    write_section("youtube", body)


if __name__ == "__main__":
    main()
