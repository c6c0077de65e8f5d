"""SIGKILL while streaming the YouTube chat: nothing lost, nothing stored twice.

The fake API runs in this process (its own thread) and a chat grows all the time; a child
process runs the collector with the stream transport into a store, and is killed at random
moments, again and again. Each element's messages are committed with its page token, so after
every kill the store must hold exactly the messages before the committed token (the fake's
tokens count messages): none past it, none missing, none twice. A last run then catches up
with everything said meanwhile.
"""

from __future__ import annotations

import base64
import json
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
from townhall.simulators.youtube_api import FakeYouTubeAPI

from ..conftest import ROOT

KILLS = 8
CHAT = "crash-chat"

CHILD = """
import asyncio, sys
from aggregator.collectors.base import supervise
from aggregator.health import HealthRegistry
from aggregator.queue import QuestionQueue
from aggregator.store import Store
from tests.support.youtube_helpers import collector, yt_config

async def main():
    store = Store(sys.argv[1]).open()
    queue = QuestionQueue(store)
    await queue.start()
    config = yt_config(sys.argv[2], video="", live_chat_id="%(chat)s", transport="stream")
    print("ready", flush=True)
    await supervise(collector(config), queue, HealthRegistry())

asyncio.run(main())
""" % {"chat": CHAT}


def feed(fake: FakeYouTubeAPI, stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        fake.say_many(CHAT, [f"question {n + k}?" for k in range(5)])
        n += 5
        time.sleep(0.01)


def start_child(db: Path, url: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db), url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT),
                                 "TOWNHALL_TEST_YOUTUBE_KEY": "test-key"})
    line = proc.stdout.readline()  # type: ignore[union-attr]
    assert line.strip() == "ready", proc.stderr.read()  # type: ignore[union-attr]
    return proc


def committed(db: Path) -> tuple[list[str], int]:
    """The stored YouTube message ids, and how many messages the committed token covers."""
    with Store(db) as store:
        assert store.integrity_check() == "ok"
        stored = [q.external_id for q in store.load_questions()]
        checkpoint = store.checkpoint("youtube") or {}
    token = checkpoint.get("page_token")
    covered = int(base64.urlsafe_b64decode(token).decode().partition("\n")[2]) if token else 0
    conn = sqlite3.connect(db)
    twice = conn.execute("SELECT question_id, COUNT(*) FROM changes WHERE action = 'received'"
                         " GROUP BY question_id HAVING COUNT(*) > 1").fetchall()
    conn.close()
    assert twice == [], "a message was received twice in the log"
    return stored, covered


def covered_while_running(db: Path) -> int:
    """The committed token's count, read beside the running child (the store is its own)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM checkpoints WHERE name = 'youtube'").fetchone()
    finally:
        conn.close()
    token = json.loads(row[0]).get("page_token") if row else None
    return int(base64.urlsafe_b64decode(token).decode().partition("\n")[2]) if token else 0


def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    rng = random.Random(20261130)
    fake = FakeYouTubeAPI(polling_millis=50, history_limit=100_000, stream_seconds=0.7,
                          stream_tick=0.02)
    url = fake.start_in_thread()
    fake.add_chat(CHAT)
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(fake, stop), daemon=True)
    feeder.start()
    db = tmp_path / "stream.db"
    progress: list[int] = []
    try:
        for attempt in range(KILLS):
            proc = start_child(db, url)
            time.sleep(rng.uniform(0.3, 1.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            stored, covered = committed(db)
            said = fake.message_ids(CHAT)
            assert len(stored) == len(set(stored)), f"a duplicate after kill {attempt}"
            # exactly the messages before the committed token: nothing past it, none missing
            assert set(stored) == set(said[:covered]), f"after kill {attempt}"
            progress.append(covered)
        stop.set()
        feeder.join()
        said = fake.message_ids(CHAT)
        proc = start_child(db, url)
        try:
            deadline = time.monotonic() + 60
            while covered_while_running(db) < len(said) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            proc.kill()
            proc.wait()
        stored, covered = committed(db)
        assert covered == len(said)
        assert sorted(stored) == sorted(said)  # everything said is stored, once
    finally:
        stop.set()
        fake.stop_thread()
    assert progress[-1] > progress[0] > 0  # the kills landed while the chat was being read
    assert fake.stream_connections > KILLS  # and reconnects happened between them
