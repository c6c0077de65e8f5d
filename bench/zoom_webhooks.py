"""Benchmark: signed Zoom webhooks over real HTTP on loopback (block "zoom" of BENCHMARKS.md).

The Townhall runtime (aiohttp server, Zoom webhook collector, queue, SQLite store with
synchronous=FULL) runs in this process; the load comes from a separate process
(`python -m bench.zoom_webhooks --load ...`) so client and server do not share an event loop.
Every 200 means "committed" (the handler answers after the group commit), so the accepted rate
is a committed rate. Phases: open-loop 200/s and 1,000/s, then closed-loop at the maximum rate.
Latency is measured from each request's scheduled send time (so a client that falls behind shows
up as latency, not as silently fewer requests). About 5% of requests redeliver an earlier
message, as Zoom does; afterwards the store must hold exactly one row per distinct message.

Targets: >= 2,000/s sustained; p99 <= 50 ms at 1,000/s; nothing lost, nothing stored twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

SECRET = "bench-secret-token"
ENV = "TOWNHALL_BENCH_ZOOM_SECRET"
PHASES = [("200/s", 200, 5.0), ("1,000/s", 1000, 5.0), ("max", None, 5.0)]
MAX_CONCURRENCY = 256  # closed-loop workers (the "max" phase)
OPEN_LOOP_CONNECTIONS = 1000  # Zoom opens as many as it needs
REDELIVER = 0.05
TICK = 0.002  # open-loop scheduling granularity, seconds


# --- load process -----------------------------------------------------------------------------


def _prepare(n: int, seed: int) -> list[tuple[str, bytes, dict[str, str]]]:
    from townhall.simulators.zoom_sender import chat_event, encode, signed_headers

    rng = random.Random(seed)
    requests: list[tuple[str, bytes, dict[str, str]]] = []
    for i in range(n):
        if requests and rng.random() < REDELIVER:
            requests.append(requests[rng.randrange(len(requests))])  # a redelivery
            continue
        body = chat_event(f"Bench question {seed}-{i}: ¿cuándo? 🚀", sender_name=f"User {i % 97}",
                          message_id=f"bench-{seed}-{i}")
        raw = encode(body)
        requests.append((f"bench-{seed}-{i}", raw, signed_headers(SECRET, raw)))
    return requests


class _Connection:
    """One keep-alive HTTP/1.1 connection over raw asyncio streams: the load process must cost
    far less CPU than the server it measures (aiohttp's client took ~0.2 ms a request, as much
    as a third of the server's own cost, on the same two cores)."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.host, self.port, self.path = host, port, path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, raw: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n{head}"
                          f"Content-Length: {len(raw)}\r\n\r\n".encode() + raw)
        assert self.reader is not None
        response = await self.reader.readuntil(b"\r\n\r\n")
        status = int(response[9:12])
        length = 0
        for line in response.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length) if length else b""
        if b"connection: close" in response.lower():
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load(url: str, rate: float | None, duration: float, seed: int) -> dict:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    count = int((rate or 4000) * duration)
    requests = _prepare(count, seed)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    acked: set[str] = set()
    created = 0
    idle: list[_Connection] = []  # open-loop pool: reuse an idle connection, else open one
    opened = 0

    async def one(index: int, scheduled: float, conn: _Connection) -> None:
        nonlocal created
        message_id, raw, headers = requests[index]
        try:
            status, data = await conn.post(raw, headers)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            conn.close()
            status, data = -1, b""
        latencies.append(time.perf_counter() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            acked.add(message_id)
            created += bool(json.loads(data).get("created"))

    async def pooled(index: int, scheduled: float) -> None:
        nonlocal opened
        if idle:
            conn = idle.pop()
        else:
            opened += 1
            conn = _Connection(parts.hostname or "127.0.0.1", parts.port or 80, parts.path)
        await one(index, scheduled, conn)
        if len(idle) < OPEN_LOOP_CONNECTIONS:
            idle.append(conn)
        else:
            conn.close()

    cpu_start = time.process_time()
    start = time.perf_counter()
    if rate is not None:  # open loop: every tick, launch the requests that are due
        tasks = []
        launched = 0
        while launched < count:
            due = min(count, int((time.perf_counter() - start) * rate) + 1)
            for i in range(launched, due):
                tasks.append(asyncio.create_task(pooled(i, start + i / rate)))
            launched = due
            await asyncio.sleep(TICK)
        await asyncio.gather(*tasks)
    else:  # closed loop: MAX_CONCURRENCY connections as fast as the server answers
        next_index = 0

        async def worker() -> None:
            nonlocal next_index
            conn = _Connection(parts.hostname or "127.0.0.1", parts.port or 80, parts.path)
            while next_index < count and time.perf_counter() - start < duration:
                i = next_index
                next_index += 1
                await one(i, time.perf_counter(), conn)
            conn.close()

        opened = MAX_CONCURRENCY
        await asyncio.gather(*(worker() for _ in range(MAX_CONCURRENCY)))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    for conn in idle:
        conn.close()
    latencies.sort()
    done = len(latencies)
    return {
        "cpu_s": cpu, "connections": opened,
        "sent": done, "elapsed": elapsed, "statuses": statuses, "created": created,
        "acked_ids": sorted(acked),
        "p50_ms": 1000 * latencies[done // 2] if done else None,
        "p99_ms": 1000 * latencies[min(done - 1, int(done * 0.99))] if done else None,
        "max_ms": 1000 * latencies[-1] if done else None,
        "mean_ms": 1000 * statistics.fmean(latencies) if done else None,
    }


# --- server process ---------------------------------------------------------------------------


async def _bench() -> str:
    from townhall.runtime import Runtime
    from bench._report import peak_rss_mb, table

    tmp = Path(tempfile.mkdtemp(prefix="townhall-bench-zoom-"))
    db = tmp / "bench.db"
    config = zoom_only_config(db)
    load_before = os.getloadavg()[0]
    rows: list[list[object]] = []
    acked_all: set[str] = set()
    created_total = 0
    results: dict[str, dict] = {}
    logging_off()
    async with Runtime(config, port=0) as rt:
        url = await zoom_webhook_url(rt)
        for seed, (label, rate, duration) in enumerate(PHASES, start=1):
            print(f"phase {label}: {duration:g}s ...", file=sys.stderr, flush=True)
            cpu_before = time.process_time()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.zoom_webhooks", "--load", url,
                "--rate", str(rate or 0), "--duration", str(duration), "--seed", str(seed),
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
            out, _ = await proc.communicate()
            result = json.loads(out)
            server_cpu = time.process_time() - cpu_before
            results[label] = result
            acked_all.update(result["acked_ids"])
            created_total += result["created"]
            ok = result["statuses"].get("200", 0)
            rows.append([label, result["sent"], f"{ok / result['elapsed']:,.0f}/s",
                         f"{result['p50_ms']:.1f}", f"{result['p99_ms']:.1f}",
                         f"{result['max_ms']:.1f}",
                         f"{1000 * server_cpu / max(ok, 1):.2f}",
                         f"{1000 * result['cpu_s'] / max(result['sent'], 1):.2f}",
                         result["connections"],
                         ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items()))])
        await rt.queue.flush()
    load_after = os.getloadavg()[0]
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT count(*), count(DISTINCT external_id) FROM questions "
                          "WHERE source = 'zoom'").fetchone()
    conn.close()
    max_rate = results["max"]["statuses"].get("200", 0) / results["max"]["elapsed"]
    p99_1000 = results["1,000/s"]["p99_ms"]
    lost = len(acked_all) - stored[1]
    server_cpu_ms = min(float(r[6]) for r in rows[1:])
    capacity = 1000 / server_cpu_ms
    load_cpu_ms = 1000 * results["max"]["cpu_s"] / max(results["max"]["sent"], 1)
    verdict = [
        f"- Sustained accepted (= committed) rate, closed loop with {MAX_CONCURRENCY} "
        f"connections: **{max_rate:,.0f}/s** (target >= 2,000/s: "
        f"{'met' if max_rate >= 2000 else 'NOT met'}).",
        f"- p99 at 1,000/s: **{p99_1000:.1f} ms** (target <= 50 ms: "
        f"{'met' if p99_1000 <= 50 else 'NOT met'}).",
        f"- Store afterwards: {stored[0]:,} zoom rows, {stored[1]:,} distinct message ids; "
        f"{len(acked_all):,} distinct messages acknowledged with 200, {created_total:,} "
        f"answered created=true. Lost: {max(lost, 0)}; stored twice: {stored[0] - stored[1]}.",
        f"- Server CPU per accepted request (HTTP, signature, JSON, queue, store writer "
        f"thread): {server_cpu_ms:.2f} ms, i.e. about **{capacity:,.0f}/s on one free core**; "
        f"the load process adds {load_cpu_ms:.2f} ms a request at the maximum rate, on the "
        "same two cores.",
        f"- Machine load average (1 min) before / after the run: {load_before:.1f} / "
        f"{load_after:.1f} on {os.cpu_count()} cores (other jobs share it): when it is above the "
        "core count, the rates above measure the share this benchmark got, not the server.",
        f"- Peak RSS of the server process: {peak_rss_mb():.0f} MB.",
    ]
    return "\n".join([
        "Signed webhooks (compact JSON, non-ASCII and emoji text, ~5% redeliveries) from a "
        "separate load process over loopback HTTP to the real server; each 200 is sent only "
        "after the group commit (SQLite WAL, synchronous=FULL). Latency from each request's "
        "scheduled send time.",
        "",
        table(["phase", "requests", "accepted", "p50 ms", "p99 ms", "max ms",
               "server CPU ms/req", "load CPU ms/req", "connections", "statuses"], rows),
        "",
        *verdict,
        "",
        "The load process is a lean keep-alive HTTP/1.1 client on raw asyncio streams (open "
        "loop: an idle connection is reused, else a new one opened; closed loop: one "
        "connection per worker).",
        "",
        "Run: `python -m bench.zoom_webhooks`. The machine is shared (2 cores, other jobs "
        "running), so treat the numbers as a lower bound.",
    ])


def zoom_only_config(db: Path):  # noqa: ANN201 - aggregator is imported late, see _bench
    """A config with only the Zoom webhook collector on; its secret is set in the environment."""
    from aggregator.config import parse_config

    os.environ[ENV] = SECRET
    return parse_config(f'[store]\npath = "{db}"\n'
                        f'[zoom]\nenabled = true\nsecret_token_env = "{ENV}"\n')


async def zoom_webhook_url(rt) -> str:  # noqa: ANN001
    """The running runtime's webhook endpoint, once its Zoom collector reports live."""
    from aggregator.collectors.zoom import WEBHOOK_PATH

    deadline = time.monotonic() + 5
    while getattr(rt.health.get("zoom"), "state", None) != "live":
        assert time.monotonic() < deadline, "the zoom collector did not start"
        await asyncio.sleep(0.01)
    return f"http://127.0.0.1:{rt.bound_port}{WEBHOOK_PATH}"


def logging_off() -> None:
    import logging

    logging.getLogger("townhall").setLevel(logging.ERROR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", metavar="URL", help="(internal) run as the load process")
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.load:
        result = asyncio.run(_load(args.load, args.rate or None, args.duration, args.seed))
        result["statuses"] = {str(k): v for k, v in result["statuses"].items()}
        json.dump(result, sys.stdout)
        return
    from bench._report import write_section

    body = asyncio.run(_bench())
    print(body)
    write_section("zoom", body)


if __name__ == "__main__":
    main()
