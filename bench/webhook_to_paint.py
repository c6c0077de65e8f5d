"""Benchmark: a signed Zoom webhook until its row is painted in the moderator TUI (block
"webhook_paint").

End to end, the path a question takes in `townhall run`: the webhook's HTTP request, signature
check, the queue, the group commit (SQLite WAL, synchronous=FULL), the publication to
subscribers, the TUI's client (`LocalClient`), its view model and list widget, and the frame.
The server (Runtime: aiohttp, the Zoom webhook collector, queue, store) and the moderator TUI
(headless, 140x45, built as `townhall run` builds it) share one process and one event loop, as
in `townhall run`; the webhooks come open loop from a separate process, so the client does not
share that loop.

Latency runs from each request's scheduled send time (a client that falls behind shows up as
latency) to the first frame the app writes after the question reached the list ("shown", the
target's measure) and to the first frame that drew its row in the viewport ("drawn"). Both
processes read `time.monotonic()`, one system-wide clock on Linux. The list shows the Incoming
view newest first with the cursor at the top, so arrivals go in at the top.

Target: p99 <= 100 ms at 100 and at 500 arrivals/s.

Run: `python -m bench.webhook_to_paint [--seconds S] [--questions N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._report import percentile, table, write_section

from bench.zoom_webhooks import SECRET
RATES = (100, 500)
TARGET_P99_MS = 100.0
GRACE = 3.0  # seconds after the last 200 for the last rows to be painted
TICK = 0.002  # open-loop scheduling granularity, seconds
SIZE = (140, 45)


# --- load process -----------------------------------------------------------------------------


async def _load(url: str, rate: float, seconds: float, seed: int) -> dict[str, Any]:
    """Open loop: request i is due at start + i / rate; an idle keep-alive connection is reused,
    else another opened. Reports each message's scheduled send time and the time of its 200."""
    from urllib.parse import urlsplit

    from townhall.simulators.zoom_sender import chat_event, encode, signed_headers
    from bench.zoom_webhooks import _Connection

    parts = urlsplit(url)
    count = int(rate * seconds)
    requests = []
    for i in range(count):
        message_id = f"paint-{seed}-{i}"
        raw = encode(chat_event(f"Paint bench {seed}-{i}: what is the plan for the budget?",
                                sender_name=f"User {i % 97}", message_id=message_id))
        requests.append((message_id, raw, signed_headers(SECRET, raw)))
    scheduled: dict[str, float] = {}
    acked: dict[str, float] = {}
    statuses: dict[str, int] = {}
    idle: list[_Connection] = []

    async def send(index: int, due: float) -> None:
        message_id, raw, headers = requests[index]
        scheduled[message_id] = due
        status = -1
        # A kept-alive connection the server closed meanwhile (idle longer than its keep-alive
        # timeout) fails before any answer: like any HTTP client, try once more on a new one.
        for reused in (bool(idle), False):
            conn = idle.pop() if reused else _Connection(parts.hostname or "127.0.0.1",
                                                         parts.port or 80, parts.path)
            try:
                status, _ = await conn.post(raw, headers)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                conn.close()
                if reused:
                    continue
            else:
                idle.append(conn)
            break
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status == 200:
            acked[message_id] = time.monotonic()

    start = time.monotonic()
    tasks: list[asyncio.Task[None]] = []
    launched = 0
    while launched < count:
        due = min(count, int((time.monotonic() - start) * rate) + 1)
        tasks.extend(asyncio.create_task(send(i, start + i / rate)) for i in range(launched, due))
        launched = due
        await asyncio.sleep(TICK)
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    return {"scheduled": scheduled, "acked": acked, "statuses": statuses,
            "elapsed": time.monotonic() - start}


# --- server process: the runtime and the TUI --------------------------------------------------


class PaintClock:
    """For each Zoom message: the first frame after its question reached the list ("shown"),
    and the first frame that drew its row in the viewport ("drawn").

    Wraps the view model's `apply` (a batch of changes reaches the list), the list's
    `render_line` (which rows were drawn) and the app's `_display` (a frame written): what
    happened since the previous frame is on screen at this frame's time. A batch may hold more
    rows than the viewport: those rows are shown (at the top of the list, above what was
    there) but some are never drawn until the moderator scrolls.
    """

    def __init__(self, app: Any) -> None:
        self.shown: dict[str, float] = {}
        self.drawn: dict[str, float] = {}
        self._applied: list[str] = []
        self._rows: set[int] = set()
        main = app.main
        queue_list, model = main.queue_list, main.model
        apply, render_line, display = model.apply, queue_list.render_line, app._display  # noqa: SLF001

        def applied(changes: Any) -> Any:
            changes = list(changes)
            self._applied.extend(q.external_id for q in changes if q.source == "zoom")
            return apply(changes)

        def drawn_line(y: int) -> Any:
            strip = render_line(y)
            row = int(queue_list.scroll_offset.y) + y - 1
            if y > 0 and 0 <= row < len(model.view):
                self._rows.add(model.view.id_at(row))
            return strip

        def written_frame(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is None:
                return
            now = time.monotonic()
            for external_id in self._applied:
                self.shown.setdefault(external_id, now)
            self._applied.clear()
            for qid in self._rows:
                q = model.questions.get(qid)
                if q is not None and q.source == "zoom":
                    self.drawn.setdefault(q.external_id, now)
            self._rows.clear()

        model.apply = applied
        queue_list.render_line = drawn_line
        app._display = written_frame  # noqa: SLF001


async def _phase(url: str, rate: int, seconds: float, seed: int,
                 clock: PaintClock) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.webhook_to_paint", "--load", url, "--rate", str(rate),
        "--seconds", str(seconds), "--seed", str(seed), stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    out, _ = await proc.communicate()
    result = json.loads(out)
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline and not set(result["acked"]) <= clock.shown.keys():
        await asyncio.sleep(0.05)
    return result


def _ms(values: list[float], pct: float) -> str:
    if not values:
        return "-"
    value = percentile(values, pct)
    return "never" if math.isinf(value) else f"{value * 1000:.1f}"


async def _bench(seconds: float, questions: int) -> tuple[str, dict[int, float | None]]:
    from aggregator.client import LocalClient
    from townhall.runtime import Runtime
    from bench.tui import seed
    from bench.zoom_webhooks import logging_off, zoom_only_config, zoom_webhook_url
    from tui.app import build_moderator_app
    from tui.screens.main import BATCH_INTERVAL

    tmp = Path(tempfile.mkdtemp(prefix="townhall-bench-paint-"))
    db = tmp / "bench.db"
    if questions:
        await seed(db, questions)
    config = zoom_only_config(db)
    logging_off()
    load_before = os.getloadavg()[0]
    rows: list[list[object]] = []
    p99s: dict[int, float | None] = {}
    async with Runtime(config, port=0) as rt:
        url = await zoom_webhook_url(rt)
        client = LocalClient(rt.queue, rt.health, actor="bench", config=config)
        app = build_moderator_app(client)
        async with app.run_test(size=SIZE) as pilot:
            while app.main is None or not app.main.loaded:
                await asyncio.sleep(0.005)
            await pilot.pause()
            clock = PaintClock(app)
            await _phase(url, 20, 1.0, 0, clock)  # warm-up, not counted
            for seed_n, rate in enumerate(RATES, start=1):
                print(f"{rate}/s for {seconds:g} s ...", file=sys.stderr, flush=True)
                result = await _phase(url, rate, seconds, seed_n, clock)
                scheduled, acked = result["scheduled"], result["acked"]
                commit = [acked[m] - scheduled[m] for m in acked]
                # a row never shown counts as slower than any (it is the p99 if over 1 %)
                shown = [clock.shown[m] - scheduled[m] if m in clock.shown else math.inf
                         for m in acked]
                drawn = [clock.drawn[m] - scheduled[m] for m in acked if m in clock.drawn]
                p99s[rate] = percentile(shown, 99) * 1000 if shown else None
                rows.append([f"{rate}/s", len(scheduled),
                             ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items())),
                             _ms(commit, 50), _ms(commit, 99), _ms(shown, 50), _ms(shown, 99),
                             _ms(shown, 100), shown.count(math.inf), _ms(drawn, 50), _ms(drawn, 99),
                             len(acked) - len(drawn)])
        await client.close()
    load_after = os.getloadavg()[0]
    verdict = [
        f"- p99 webhook to row shown at {rate}/s: **{p99:.1f} ms** (target <= "
        f"{TARGET_P99_MS:.0f} ms: {'met' if p99 <= TARGET_P99_MS else 'NOT met'})."
        if p99 is not None and not math.isinf(p99)
        else f"- {rate}/s: over 1 % of the rows never shown (target NOT met)."
        for rate, p99 in p99s.items()
    ]
    body = "\n".join([
        "A signed Zoom webhook (separate load process, open loop, keep-alive HTTP/1.1 over "
        "loopback) until the first frame of the moderator TUI that shows its row; server and "
        f"headless TUI ({SIZE[0]}x{SIZE[1]}, LocalClient, Incoming view, cursor at the top) in "
        f"one process as in `townhall run`; {questions:,} questions in the store before; "
        f"{seconds:g} s per rate. Times from each request's scheduled send time, in ms.",
        "",
        table(["rate", "webhooks", "statuses", "200 p50", "200 p99", "shown p50", "shown p99",
               "shown max", "never shown", "drawn p50", "drawn p99", "never drawn"], rows),
        "",
        *verdict,
        "- \"200\": the webhook's answer, sent after the commit. \"Shown\": the first frame "
        "after the row reached the list (publication, client, the TUI's batching of arrivals, "
        "view model, frame). \"Drawn\": the first frame that drew the row in the viewport; "
        "when one batch of arrivals holds more rows than the viewport, the rows pushed below "
        f"it are never drawn. \"Never\": acknowledged, and not within {GRACE:g} s.",
        f"- The TUI applies arrivals at most every {BATCH_INTERVAL * 1000:.0f} ms "
        "(`BATCH_INTERVAL` in tui/screens/main.py): a row waits up to that long for its batch, "
        "a floor under \"shown\".",
        f"- Machine load average (1 min) before / after: {load_before:.1f} / {load_after:.1f} "
        f"on {os.cpu_count()} cores (shared with other jobs; the load process runs on the same "
        "cores).",
        "",
        f"Run: `python -m bench.webhook_to_paint --seconds {seconds:g}`.",
    ])
    return body, p99s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per rate")
    parser.add_argument("--questions", type=int, default=0,
                        help="questions seeded into the store before the run")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        json.dump(asyncio.run(_load(args.load, args.rate, args.seconds, args.seed)), sys.stdout)
        return
    body, _ = asyncio.run(_bench(args.seconds, args.questions))
    print(body)
    write_section("webhook_paint", body)


if __name__ == "__main__":
    main()
