"""Benchmark: a busy YouTube chat through the real Google client against the fake API.

A chat of RATE messages/s for SECONDS (default 200/s for 60 s) is fed into FakeYouTubeAPI,
which runs in its own thread so the load generator does not share the collector's event loop.
The collector runs with production timing and the default quota (10,000 units/day) for a
1-hour meeting. Measured: every message stored exactly once, quota units spent per hour, and
the delay from `publishedAt` to the commit (observed by a queue subscriber, which hears of a
question only after its commit); the target bound is the poll interval.

    python -m bench.youtube_chat [--seconds 60] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from aggregator.collectors.base import supervise
from aggregator.collectors.youtube import YouTubeCollector
from aggregator.config import Config, MeetingConfig, StoreConfig, YouTubeConfig
from aggregator.health import HealthRegistry
from aggregator.model import parse_iso
from aggregator.queue import QuestionQueue
from townhall.simulators.youtube_api import FakeYouTubeAPI
from aggregator.store import Store
from aggregator.subscription import Change
from bench._report import peak_rss_mb, table, write_section

KEY_ENV = "TOWNHALL_BENCH_YOUTUBE_KEY"


def feed(fake: FakeYouTubeAPI, chat: str, rate: int, seconds: float, stop: threading.Event
         ) -> None:
    """Add `rate` messages per second in 20 ms slices (publishedAt = the time of adding)."""
    start = time.monotonic()
    sent = 0
    while not stop.is_set():
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        due = int(min(elapsed + 0.02, seconds) * rate)
        fake.say_many(chat, [f"question {n}?" for n in range(sent, due)])
        sent = due
        time.sleep(0.02)


async def run(seconds: float, rate: int) -> dict[str, object]:
    import os

    fake = FakeYouTubeAPI(api_key="bench-key", polling_millis=1000)
    url = fake.start_in_thread()
    fake.add_video("dQw4w9WgXcQ", "bench-chat")
    os.environ[KEY_ENV] = "bench-key"
    tmp = Path(tempfile.mkdtemp(prefix="townhall-bench-yt-"))
    config = Config(meeting=MeetingConfig(duration_minutes=60),
                    store=StoreConfig(path=str(tmp / "bench.db")),
                    youtube=YouTubeConfig(enabled=True, video="dQw4w9WgXcQ", api_key_env=KEY_ENV,
                                          api_endpoint=url, daily_quota_units=10_000))
    store = Store(config.store_path).open()
    queue = QuestionQueue(store)
    await queue.start()
    health = HealthRegistry()
    collector = YouTubeCollector(config, health)
    delays: list[float] = []
    subscription = queue.subscribe(since=0)

    async def observe() -> None:
        async for event in subscription:
            if isinstance(event, Change) and event.question.version == 1:
                sent = parse_iso(event.question.sent_at or "")
                delays.append((datetime.now(timezone.utc) - sent).total_seconds())

    observer = asyncio.create_task(observe())
    task = asyncio.create_task(supervise(collector, queue, health))
    await asyncio.sleep(0.5)  # the first poll (an empty backlog)
    stop = threading.Event()
    started = time.monotonic()
    feeder = threading.Thread(target=feed, args=(fake, "bench-chat", rate, seconds, stop))
    feeder.start()
    total = int(seconds * rate)
    while feeder.is_alive() or len(queue) < total:
        await asyncio.sleep(0.2)
        if time.monotonic() - started > seconds + 30:
            break
    elapsed = time.monotonic() - started
    task.cancel()
    subscription.close()
    observer.cancel()
    await asyncio.gather(task, observer, return_exceptions=True)
    stop.set()
    feeder.join()
    await queue.flush()
    fake.stop_thread()
    external = [q.external_id for q in queue.all()]
    detail = (health.get("youtube").detail if health.get("youtube") else {})
    sent_ids = fake.message_ids("bench-chat")
    times = [r.at for r in fake.requests if r.path.endswith("/liveChat/messages")]
    calls = len(times)
    # steady state: the polls' own rate, without the start-up calls' head start
    steady = 5 * (calls - 1) * 3600 / (times[-1] - times[0]) if calls > 1 else float("nan")
    result = {
        "sent": len(sent_ids), "stored": len(external), "unique": len(set(external)),
        "missing": len(set(sent_ids) - set(external)), "elapsed": elapsed,
        "units": fake.units, "units_per_hour": fake.units * 3600 / elapsed, "steady": steady, "calls": calls,
        "interval": detail.get("poll_interval_seconds"),
        "projected": detail.get("quota_projected_units"),
        "p50": statistics.median(delays) if delays else float("nan"),
        "p95": statistics.quantiles(delays, n=20)[18] if len(delays) > 20 else float("nan"),
        "max": max(delays, default=float("nan")),
    }
    store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=200)
    args = parser.parse_args()
    print(f"feeding {args.rate} messages/s for {args.seconds:.0f} s ...", flush=True)
    r = asyncio.run(run(args.seconds, args.rate))
    rows = [
        ["messages sent / stored / unique", f"{r['sent']} / {r['stored']} / {r['unique']}",
         "all stored exactly once"],
        ["missing", r["missing"], "0"],
        ["liveChatMessages.list calls", r["calls"], ""],
        ["quota units spent (incl. 1 for videos.list)", r["units"], ""],
        ["units per hour, whole run (start-up included)", f"{r['units_per_hour']:.0f}", ""],
        ["units per hour, steady polling", f"{r['steady']:.0f}",
         "<= 9,500 (10,000/day minus the 5 % reserve, 1-hour meeting)"],
        ["poll interval (s)", r["interval"], "max(pollingIntervalMillis 1 s, quota floor 1.89 s)"],
        ["projected units at meeting end", r["projected"], "<= 9,500"],
        ["publishedAt -> commit, median (s)", f"{r['p50']:.2f}", "<= poll interval"],
        ["publishedAt -> commit, p95 (s)", f"{r['p95']:.2f}", "<= poll interval + 0.5"],
        ["publishedAt -> commit, max (s)", f"{r['max']:.2f}", ""],
        ["peak RSS (MB)", f"{peak_rss_mb():.0f}", ""],
    ]
    body = (f"Chat of {args.rate} messages/s for {args.seconds:.0f} s into the fake YouTube API "
            f"(own thread), collector with production timing, default quota, 1-hour meeting "
            f"(`python -m bench.youtube_chat`).\n\n"
            + table(["measure", "value", "target"], rows))
    print(body)
    write_section("youtube", body)


if __name__ == "__main__":
    main()
