"""Crash safety: SIGKILL a process mid-ingestion, again and again: acknowledged means on disk.

The child redelivers every single message from the start on each run (as a source that
delivers at least once would) and, like a collector, resumes its batches from the committed
checkpoint. It prints an acknowledgement only after `submit` returned. After every kill, every
acknowledged message must be stored, nothing twice, the checkpoint must match its batch, and
SQLite's integrity check must pass.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from aggregator.store import Store

from ..conftest import ROOT

KILLS = 25
BATCH = 5

CHILD = """
import asyncio, sys
from aggregator.store import Store
from aggregator.queue import QuestionQueue, Checkpoint
from aggregator.model import Incoming, Author

def msg(ext):
    return Incoming(source="zoom", external_id=ext, author=Author(name="n" + ext, id=ext),
                    text="Question " + ext + "?")

async def singles(queue, worker):
    for i in range(worker, 100_000, 10):
        await queue.submit(msg(f"s{i}"))
        print(f"ack s{i}", flush=True)

async def batches(queue):
    start = (queue.checkpoint("crash") or {"batch": -1})["batch"] + 1
    for b in range(start, 100_000):
        page = [msg(f"b{b}-{k}") for k in range(%(batch)d)]
        await queue.submit_batch(page, Checkpoint("crash", {"batch": b}))
        print(f"batch {b}", flush=True)

async def main():
    store = Store(sys.argv[1]).open()
    queue = QuestionQueue(store)
    await queue.start()
    print("ready", flush=True)
    await asyncio.gather(batches(queue), *[singles(queue, w) for w in range(10)])

asyncio.run(main())
""" % {"batch": BATCH}


def run_and_kill(db: Path, rng: random.Random) -> tuple[set[str], set[int]]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    acked: set[str] = set()
    batches: set[int] = set()
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            kind, _, value = line.strip().partition(" ")
            if kind == "ready":
                ready.set()
            elif kind == "ack":
                acked.add(value)
            elif kind == "batch":
                batches.add(int(value))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(30), proc.stderr.read() if proc.poll() is not None else "child hung"
    time.sleep(rng.uniform(0.01, 0.4))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(10)
    return acked, batches


def test_sigkill_loses_no_acknowledged_question_and_stores_none_twice(tmp_path: Path) -> None:
    rng = random.Random(20221110)
    db = tmp_path / "crash.db"
    all_acked: set[str] = set()
    for attempt in range(KILLS):
        acked, batches = run_and_kill(db, rng)
        all_acked |= acked | {f"b{b}-{k}" for b in batches for k in range(BATCH)}
        with Store(db) as store:
            assert store.integrity_check() == "ok", f"after kill {attempt}"
            stored = [q.external_id for q in store.load_questions()]
            assert len(stored) == len(set(stored)), f"a duplicate after kill {attempt}"
            missing = all_acked - set(stored)
            assert not missing, f"acknowledged but lost after kill {attempt}: {sorted(missing)[:5]}"
            checkpoint = store.checkpoint("crash")
            if checkpoint is not None:
                batch = checkpoint["batch"]
                assert {f"b{batch}-{k}" for k in range(BATCH)} <= set(stored)
                assert f"b{batch + 1}-0" not in stored  # nothing past the checkpoint
            conn = sqlite3.connect(db)
            received = conn.execute(
                "SELECT question_id, COUNT(*) FROM changes WHERE action = 'received'"
                " GROUP BY question_id HAVING COUNT(*) > 1").fetchall()
            conn.close()
            assert received == [], "a question was received twice in the log"
    assert len(all_acked) > KILLS  # the kills really landed mid-ingestion, after real work
