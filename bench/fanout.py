"""Websocket fan-out: commit-to-every-client latency under load.

5 moderator clients and 20 page clients (10 host, 10 overlay) stay connected to a real
`townhall` server (a separate process, so clients and server do not share a core) while
questions arrive at RATE per second through the queue, as a collector would submit them.
Every 100 ms the feeder also approves a question and says `next`, which is what the pages see.

"Commit" is the moment the store's writer commits the change and the queue publishes it (the
server wraps `QuestionQueue._publish` to stamp each seq with `time.monotonic()`, a clock that
is shared by all processes on Linux); each client stamps every `changed` frame on arrival.
A change's latency is the time until the LAST client that should get it has it.

Run: python -m bench.fanout [--seconds 10] [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from bench._report import table, write_section

MODERATORS, HOSTS, OVERLAYS = 5, 10, 10
TOKEN = "bench-token"
WARMUP = 1.0


# --- the server process ---------------------------------------------------------------------

async def serve_and_feed(config_path: str, out: str, seconds: float, rate: int) -> None:
    from aggregator.commands import Command, CommandError
    from aggregator.config import load_config
    from aggregator.model import Author, Incoming
    from townhall.runtime import Runtime

    config = load_config(config_path)
    stamps: dict[int, float] = {}
    async with Runtime(config, collectors=[]) as runtime:
        queue = runtime.queue
        publish = queue._publish  # noqa: SLF001 (the bench's one hook: the commit moment)

        def stamped(changes):  # noqa: ANN001, ANN202
            now = time.monotonic()
            for change in changes:
                stamps[change.seq] = now
            publish(changes)

        queue._publish = stamped  # type: ignore[method-assign]  # noqa: SLF001
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        tick = 0.01
        per_tick = max(1, round(rate * tick))
        start = time.monotonic()
        pending: set[asyncio.Task[object]] = set()
        n = 0
        next_page_change = start
        while time.monotonic() - start < seconds:
            for _ in range(per_tick):
                n += 1
                incoming = Incoming(source="youtube", external_id=f"b{n}",
                                    author=Author(name=f"Viewer {n % 300}", id=f"UC{n % 300}"),
                                    text=f"Question {n}: how does the plan handle case {n}?")
                task = asyncio.create_task(queue.submit(incoming))
                pending.add(task)
                task.add_done_callback(pending.discard)
            if time.monotonic() >= next_page_change and n > 10:
                next_page_change += 0.1
                with contextlib.suppress(CommandError):
                    await queue.apply(Command(op="approve", question=n - 5), "bench")
                    await queue.apply(Command(op="next"), "bench")
            target = start + tick * (n // per_tick)
            await asyncio.sleep(max(0.0, target - time.monotonic()))
        await asyncio.gather(*pending)
        elapsed = time.monotonic() - start
        await asyncio.sleep(1.0)  # let the clients drain
        Path(out).write_text(json.dumps({"stamps": stamps, "submitted": n,
                                         "elapsed": elapsed}))


# --- the clients --------------------------------------------------------------------------------

class Changed(msgspec.Struct):
    type: str
    seq: int = 0


async def client(url: str, role: str, name: str, arrivals: dict[int, float],
                 ready: asyncio.Event, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    decode = msgspec.json.Decoder(Changed).decode
    async with connect(url, proxy=None, max_size=None, compression=None) as ws:
        await ws.send(json.dumps({"type": "hello", "role": role, "token": TOKEN, "name": name}))
        while decode(await ws.recv()).type != "snapshot":
            pass
        ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return  # the server shut down at the end of the run
            now = time.monotonic()
            frame = decode(raw)
            if frame.type == "changed":
                arrivals[frame.seq] = now


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run(seconds: float, rate: int) -> dict[str, object]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="townhall-fanout-"))
    config = tmp / "townhall.toml"
    config.write_text(f'[store]\npath = "{tmp / "bench.db"}"\n[server]\nport = {port}\n'
                      'moderator_token_env = "BENCH_TOKEN"\nhost_token_env = "BENCH_TOKEN"\n'
                      'overlay_token_env = "BENCH_TOKEN"\n')
    out = tmp / "stamps.json"
    env = {**os.environ, "BENCH_TOKEN": TOKEN,
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.fanout", "--server", str(config), str(out),
         str(seconds), str(rate)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=env)
    assert server.stdout is not None and server.stdin is not None
    assert server.stdout.readline().strip() == "ready"
    url = f"ws://127.0.0.1:{port}/ws"
    roles = ([("moderator", f"mod{i}") for i in range(MODERATORS)]
             + [("host", f"host{i}") for i in range(HOSTS)]
             + [("overlay", f"overlay{i}") for i in range(OVERLAYS)])
    arrivals = [dict[int, float]() for _ in roles]
    readies = [asyncio.Event() for _ in roles]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(client(url, role, name, arrivals[i], readies[i], stop))
             for i, (role, name) in enumerate(roles)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    server.stdin.write("go\n")
    server.stdin.flush()
    await asyncio.get_running_loop().run_in_executor(None, server.wait)
    stop.set()
    await asyncio.gather(*tasks)
    result = json.loads(out.read_text())
    stamps = {int(k): v for k, v in result["stamps"].items()}
    t0 = min(stamps.values()) + WARMUP
    groups = {group: [i for i, (r, _) in enumerate(roles) if r == role]
              for group, role in (("moderators", "moderator"), ("hosts", "host"),
                                  ("overlays", "overlay"))}
    report: dict[str, object] = {"submitted": result["submitted"],
                                 "rate": result["submitted"] / result["elapsed"]}
    everyone: dict[int, float] = {}
    for group, members in groups.items():
        latencies = []
        missing = 0
        for seq, committed in stamps.items():
            if committed < t0:
                continue
            got = [arrivals[i].get(seq) for i in members]
            if all(g is None for g in got):
                continue  # not a change this role sees (hosts: host list; overlays: live)
            if any(g is None for g in got):
                missing += 1
                continue
            latency = (max(got) - committed) * 1000  # type: ignore[type-var]
            latencies.append(latency)
            everyone[seq] = max(everyone.get(seq, 0.0), latency)
        report[group] = {"changes": len(latencies), "missing": missing,
                         "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                         "max": max(latencies, default=float("nan")),
                         "mean": statistics.fmean(latencies) if latencies else float("nan")}
    all_lat = list(everyone.values())
    report["all"] = {"changes": len(all_lat), "missing": 0, "p50": percentile(all_lat, 50),
                     "p99": percentile(all_lat, 99), "max": max(all_lat, default=float("nan")),
                     "mean": statistics.fmean(all_lat) if all_lat else float("nan")}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--server", nargs=4, metavar=("CONFIG", "OUT", "SECONDS", "RATE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.server:
        config, out, seconds, rate = args.server
        asyncio.run(serve_and_feed(config, out, float(seconds), int(rate)))
        return
    report = asyncio.run(run(args.seconds, args.rate))
    print(json.dumps(report, indent=2))
    rows = []
    for group, label in (("moderators", f"{MODERATORS} moderator clients, every arrival"),
                         ("hosts", f"{HOSTS} host pages, host-list changes"),
                         ("overlays", f"{OVERLAYS} overlay pages, live-question changes"),
                         ("all", "every client that should get the change")):
        g = report[group]
        assert isinstance(g, dict)
        rows.append([label, g["changes"], g["missing"], f"{g['p50']:.1f}", f"{g['p99']:.1f}",
                     f"{g['max']:.1f}", "p99 <= 100 ms"])
    body = (f"{args.rate} questions/s offered for {args.seconds:.0f} s "
            f"({report['rate']:.0f}/s achieved, {report['submitted']} questions), plus an "
            "approve + next every 100 ms; the server is a separate process on loopback. Latency "
            "= from the commit (the queue's publish) until the last client that should get the "
            f"change has it; the first {WARMUP:.0f} s are not counted.\n\n"
            + table(["clients", "changes", "missed", "p50 ms", "p99 ms", "max ms", "target"],
                    rows))
    write_section("fanout", body)


if __name__ == "__main__":
    main()
