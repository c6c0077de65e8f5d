"""Store and queue benchmarks: group-commit throughput, command rate, cold start.

    python -m bench.store_bench [--quick]

Writes its numbers into the 'store' block of BENCHMARKS.md. Every submit counted here returned
only after its transaction committed with synchronous=FULL.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aggregator.commands import Command
from aggregator.model import Author, Incoming
from aggregator.queue import QuestionQueue
from townhall.runtime import tune_gc
from aggregator.store import Store

from ._report import percentile, table, write_section

ROOT = Path(__file__).resolve().parent.parent


def message(n: int, prefix: str = "m") -> Incoming:
    return Incoming(source="youtube", external_id=f"{prefix}{n}",
                    author=Author(name=f"Person {n % 500}", id=f"UC{n % 500}"),
                    text=f"Question number {n}: how will the foundation handle this next year?")


async def submit_rate(submitters: int, total: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db").open()
        queue = QuestionQueue(store)
        await queue.start()
        latencies: list[float] = []
        counter = iter(range(total))

        async def worker() -> None:
            for n in counter:
                began = time.perf_counter()
                await queue.submit(message(n))
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(submitters)])
        elapsed = time.perf_counter() - began
        assert len(store.load_questions()) == total
        store.close()
    return total / elapsed, percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000


async def command_rate(total: int, concurrency: int = 50) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db").open()
        queue = QuestionQueue(store)
        await queue.start()
        await queue.submit_batch([message(n) for n in range(total)])
        subscription = queue.subscribe(queue.seq)
        heard = 0

        async def listen() -> None:
            nonlocal heard
            async for _ in subscription:
                heard += 1

        listener = asyncio.create_task(listen())
        ids = iter(range(1, total + 1))

        async def worker() -> None:
            for qid in ids:
                if qid % 2:
                    await queue.apply(Command(op="approve", question=qid), "bench")
                else:
                    await queue.apply(Command(op="dismiss", question=qid,
                                              args={"reason": "off_topic"}), "bench")

        began = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        elapsed = time.perf_counter() - began
        await asyncio.sleep(0.2)
        listener.cancel()
        subscription.close()
        store.close()
    return total / elapsed, heard


COLD_START = """
import asyncio, sys, time
began = time.perf_counter()
from aggregator.store import Store
from aggregator.queue import QuestionQueue
from bench._report import peak_rss_mb
async def main():
    store = Store(sys.argv[1]).open()
    queue = QuestionQueue(store)
    await queue.start()
    elapsed = time.perf_counter() - began
    print(elapsed, peak_rss_mb(), len(queue))
    store.close()
asyncio.run(main())
"""


async def build_store(path: Path, count: int) -> None:
    store = Store(path).open()
    queue = QuestionQueue(store)
    await queue.start()
    for start in range(0, count, 5_000):
        await queue.submit_batch([message(n) for n in range(start, min(count, start + 5_000))])
    for qid in range(1, count + 1, 10):  # some history, as after a real meeting
        await queue.apply(Command(op="approve", question=qid), "bench")
    store.close()


def cold_start(count: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.db"
        asyncio.run(build_store(path, count))
        out = subprocess.run([sys.executable, "-c", COLD_START, str(path)], capture_output=True,
                             text=True, check=True, cwd=ROOT).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    tune_gc()  # as `townhall run` / `serve` do
    rows = []
    for submitters in (1, 10, 100):
        total = int((3_000 if submitters == 1 else 30_000) * scale)
        rate, p50, p99 = asyncio.run(submit_rate(submitters, total))
        print(f"{submitters:>3} submitters: {rate:,.0f}/s p50 {p50:.2f} ms p99 {p99:.2f} ms")
        target = "≥ 5,000/s, p99 ≤ 20 ms" if submitters == 100 else ""
        rows.append([submitters, f"{total:,}", f"{rate:,.0f}/s", f"{p50:.2f} ms", f"{p99:.2f} ms",
                     target])
    commands = int(20_000 * scale)
    crate, heard = asyncio.run(command_rate(commands))
    print(f"commands: {crate:,.0f}/s, subscriber heard {heard:,} changes")
    count = int(100_000 * scale)
    seconds, rss, loaded = cold_start(count)
    print(f"cold start of {loaded:,} questions: {seconds:.2f} s, {rss:.0f} MB peak RSS")
    body = "\n\n".join([
        "Durable submits (each returned after its commit; WAL, synchronous=FULL, group commit; "
        "triage and duplicate hints on, as in `townhall run`; the messages differ only by a "
        "number, so each gets five duplicate hints):",
        table(["concurrent submitters", "questions", "throughput", "p50 latency", "p99 latency",
               "target"], rows),
        table(["measure", "result", "target"], [
            [f"commands applied (approve/dismiss, 50 concurrent, {commands:,}), one subscriber",
             f"{crate:,.0f}/s (subscriber heard {heard:,} changes)", "≥ 2,000/s"],
            [f"cold start: open a store of {loaded:,} questions and rebuild the queue "
             "(separate process, including imports)", f"{seconds:.2f} s", "≤ 2 s"],
            ["cold start peak resident memory (that process's own high-water mark, VmHWM)",
             f"{rss:.0f} MB", "≤ 300 MB"],
        ]),
    ])
    write_section("store", body)


if __name__ == "__main__":
    main()
