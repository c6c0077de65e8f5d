"""Moderator TUI at 100,000 questions: first paint, key-to-repaint latency, memory, under load.

Run: `python -m bench.tui [--questions N] [--load-seconds S]`; writes the "tui" block of
BENCHMARKS.md. The app runs headless (Textual's run_test) over a real queue and store, the way
`townhall run` wires them (LocalClient). A key is posted the way the terminal driver posts it,
and the latency is the time until the app writes a frame that shows the key's effect (the
app's display hook is wrapped to see each frame).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from textual import events

from aggregator.client import LocalClient
from aggregator.model import Author, Incoming, Status
from aggregator.queue import QuestionQueue
from townhall.runtime import tune_gc
from aggregator.store import Store
from aggregator.triage import Rules
from bench._report import peak_rss_mb, percentile, table, write_section
from tui.app import ModeratorApp, build_moderator_app

WORDS = ("budget grants policy recording timeline community election board trust safety "
         "translation chapter funding research event").split()


def make_incoming(i: int, prefix: str = "m") -> Incoming:
    w = WORDS[i % len(WORDS)]
    text = (f"What is the plan for {w} in region {i % 97}?" if i % 3 else
            f"great stream, greetings from {w} land {i}")
    return Incoming(source=("youtube", "zoom", "email")[i % 3], external_id=f"{prefix}{i}",
                    author=Author(name=f"Person {i % 5000}", id=f"id{i % 5000}"), text=text)


async def seed(path: Path, n: int) -> float:
    started = time.perf_counter()
    store = Store(path).open()
    queue = QuestionQueue(store, triage=Rules({}))
    await queue.start()
    for start in range(0, n, 5_000):
        await queue.submit_batch([make_incoming(i) for i in range(start, min(n, start + 5_000))])
    await queue.flush()
    store.close()
    return time.perf_counter() - started


class FrameClock:
    """Wraps App._display: the time of each frame written, and a condition checked at it."""

    def __init__(self, app: ModeratorApp) -> None:
        self.condition: Callable[[], bool] | None = None
        self.done_at: float | None = None
        original = app._display  # noqa: SLF001

        def display(screen, renderable):  # type: ignore[no-untyped-def]
            original(screen, renderable)
            if renderable is not None and self.condition is not None and self.condition():
                self.done_at = time.perf_counter()
                self.condition = None

        app._display = display  # type: ignore[method-assign]  # noqa: SLF001

    async def press(self, app: ModeratorApp, key: str, character: str | None,
                    condition: Callable[[], bool], timeout: float = 5.0) -> float:
        self.done_at, self.condition = None, condition
        started = time.perf_counter()
        event = events.Key(key, character)
        event.set_sender(app)
        app._driver.send_message(event)  # type: ignore[union-attr]  # noqa: SLF001
        while self.done_at is None:
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"no frame showed the effect of {key!r}")
            await asyncio.sleep(0.0005)
        return (self.done_at - started) * 1000


async def measure_keys(app: ModeratorApp, frames: FrameClock, rounds: int
                       ) -> dict[str, list[float]]:
    m = app.main
    assert m is not None
    lat: dict[str, list[float]] = {"cursor move": [], "approve": [], "switch view": [],
                                   "search": []}
    for i in range(rounds):
        before = m.queue_list.cursor_id
        lat["cursor move"].append(await frames.press(
            app, "down", None, lambda b=before: m.queue_list.cursor_id != b))
        target = m.queue_list.cursor_id
        lat["approve"].append(await frames.press(
            app, "a", "a", lambda t=target: m.model.questions[t].status is Status.QUEUED))
        lat["switch view"].append(await frames.press(
            app, "2", "2", lambda: m.model.current == "host"))
        lat["switch view"].append(await frames.press(
            app, "1", "1", lambda: m.model.current == "incoming"))
        # search: the bar is opened, the words typed; enter is the timed key
        await frames.press(app, "slash", "/", lambda: m.search_bar.has_focus)
        m.search_bar.value = WORDS[i % len(WORDS)]
        lat["search"].append(await frames.press(
            app, "enter", "\r", lambda: bool(m.model.query) and m.queue_list.has_focus))
        await frames.press(app, "escape", None, lambda: not m.model.query)
        await asyncio.sleep(0.02)
    return lat


def summary(samples: list[float]) -> tuple[str, str]:
    return f"{statistics.median(samples):.1f}", f"{percentile(samples, 99):.1f}"


async def arrivals(queue: QuestionQueue, rate: int, seconds: float, stop: asyncio.Event
                   ) -> int:
    """`rate` questions a second, in 10 batches a second, like a busy chat."""
    sent, started = 0, time.perf_counter()
    pending: set[asyncio.Task[object]] = set()
    while not stop.is_set() and time.perf_counter() - started < seconds:
        # Offered load on a fixed schedule: batches are not held back by earlier commits.
        due = started + (sent // (rate // 10)) * 0.1
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        task = asyncio.create_task(queue.submit_batch(
            [make_incoming(10_000_000 + sent + k, "load") for k in range(rate // 10)]))
        pending.add(task)
        task.add_done_callback(pending.discard)
        sent += rate // 10
    await asyncio.gather(*pending)
    return sent


async def load_phase(app: ModeratorApp, frames: FrameClock, queue: QuestionQueue,
                     seconds: float) -> tuple[dict[str, list[float]], int]:
    stop = asyncio.Event()
    load = asyncio.create_task(arrivals(queue, 500, seconds, stop))
    loaded: dict[str, list[float]] = {"timeouts": []}
    while not load.done():
        try:
            for k, v in (await measure_keys(app, frames, 1)).items():
                loaded.setdefault(k, []).extend(v)
        except TimeoutError:  # a key whose effect took over 5 s: counted, not fatal
            loaded["timeouts"].append(5000.0)
    return loaded, await load


async def run(n: int, load_seconds: float, rounds: int, seeded: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        if seeded:  # a store seeded earlier with --seed-only (seeding takes minutes)
            shutil.copy(seeded, path)
        else:  # seeded in a child process, so the memory figure is the moderator process's own
            subprocess.run([sys.executable, "-m", "bench.tui", "--seed-only", str(path),
                            "--questions", str(n)], check=True)
        seed_s = time.perf_counter() - started
        print(f"seeded {n} questions in {seed_s:.1f} s")
        started = time.perf_counter()
        store = Store(path).open()
        queue = QuestionQueue(store, triage=Rules({}))
        await queue.start()
        tune_gc()  # as `townhall run` does (Runtime)
        app = build_moderator_app(LocalClient(queue, actor="bench"))
        async with app.run_test(size=(140, 45)) as pilot:
            while app.main is None or not app.main.loaded:
                await asyncio.sleep(0.005)
            await pilot.pause()
            first_paint = time.perf_counter() - started
            print(f"first paint {first_paint:.2f} s")
            # the duplicate-hint index of a large store fills in the background after start-up
            # (QuestionQueue._fill_similar); "idle" is measured once it has finished
            while queue._similar_fill is not None:  # noqa: SLF001
                await asyncio.sleep(0.05)
            index_ready = time.perf_counter() - started
            print(f"hint index ready {index_ready:.2f} s after start")
            frames = FrameClock(app)
            idle = await measure_keys(app, frames, rounds)
            print("idle:", {k: summary(v) for k, v in idle.items()})
            # The load runs as `townhall run` does: triage and duplicate hints on every arrival.
            loaded, sent = await load_phase(app, frames, queue, load_seconds)
            await pilot.pause()
            shown = app.main.model.counts()["all"]  # type: ignore[union-attr]
            print("under load:", {k: summary(v) for k, v in loaded.items() if v})
        await queue.close()  # writes what is still in its inbox first
        store.close()
    rss = peak_rss_mb()
    load_avg = os.getloadavg()[0]
    rows = []
    for key in idle:
        rows.append([key, *summary(idle[key]), *summary(loaded[key]), "≤ 30 / ≤ 100"])
    body = "\n\n".join([
        f"{n:,} questions in the store (all open); headless app 140×45, real queue and store "
        f"(LocalClient, the GC settings of `townhall run`), `python -m bench.tui --questions "
        f"{n} --load-seconds {load_seconds:g}`. "
        f"Machine load average (1 min) at the end: {load_avg:.1f} on {os.cpu_count()} cores "
        "(shared with other jobs, so latencies are pessimistic and noisy).",
        table(["measure", "result", "target"], [
            ["start to first paint (store open, snapshot, views built, first frame)",
             f"{first_paint:.2f} s", "≤ 3 s"],
            ["duplicate-hint index filled in the background (keys measured after it)",
             f"{index_ready:.2f} s after start", "-"],
            ["peak resident memory (the moderator process: queue, client snapshot, TUI)",
             f"{rss:.0f} MB", "≤ 400 MB"],
            [f"arrivals during the load phase ({load_seconds:g} s at 500/s)",
             f"{sent:,} sent, all {shown:,} shown", "no loss"],
        ]),
        "Key press to the first frame showing its effect, in ms (median / p99): idle, and "
        "while 500 questions/s arrive through the queue with triage and duplicate hints on, as "
        f"in `townhall run` ({len(loaded['timeouts'])} key presses showed no effect within 5 s):",
        table(["key", "idle median", "idle p99", "load median", "load p99", "target"], rows),
    ])
    write_section("tui", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seeded", metavar="DB",
                        help="copy this store (made with --seed-only) instead of seeding")
    parser.add_argument("--seed-only", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only:
        asyncio.run(seed(Path(args.seed_only), args.questions))
        return
    asyncio.run(run(args.questions, args.load_seconds, args.rounds, args.seeded))


if __name__ == "__main__":
    main()
