"""End to end: `townhall demo --headless` through the real collectors, then a notes page."""

from __future__ import annotations

import re
from pathlib import Path

from townhall.demo_script import BANNED_CHANNEL, MEETING_TITLE
from aggregator.model import Status
from aggregator.store import Store

from ..conftest import townhall


def test_headless_demo_runs_every_source_and_exports_a_notes_page(tmp_path: Path) -> None:
    store_path = tmp_path / "demo.db"
    result = townhall("demo", "--headless", "--speed", "30", "--seconds", "24",
                      "--store", str(store_path), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"host page +http://127\.0\.0\.1:\d+/host#token=\S{20,}", out)
    assert re.search(r"stream overlay +http://127\.0\.0\.1:\d+/overlay#token=\S{20,}", out)
    assert "collectors: email live, server live, youtube live, zoom live" in out

    with Store(store_path, exclusive=False) as store:
        questions = store.load_questions()
    by_source: dict[str, list] = {}
    for q in questions:
        by_source.setdefault(q.source, []).append(q)
    # every channel delivered through its real collector (each leaves its own traces in meta)
    assert any(q.meta.get("subject") for q in by_source["email"])
    assert not any("agenda" in q.text for q in by_source["email"])  # excluded by subject rules
    assert any(q.external_id.startswith("MS17") for q in by_source["zoom"])
    assert any("private" in q.flags for q in by_source["zoom"])
    assert len(by_source["youtube"]) >= 10
    # the banned channel's messages arrived, dismissed with reason banned
    banned = [q for q in questions if q.author.id == BANNED_CHANNEL]
    assert banned and all(q.dismiss_reason == "banned" for q in banned)
    # the chat moderator's deletion withdrew the message
    assert any("withdrawn" in q.flags for q in by_source["youtube"])
    # the same question on Zoom and YouTube: a duplicate hint, then merged by the moderator
    zoom_q = next(q for q in by_source["zoom"] if "harassment on talk pages" in q.text)
    yt_q = next(q for q in by_source["youtube"] if "harassment on talk pages" in q.text)
    assert yt_q.meta["similar"][0]["id"] == zoom_q.id
    assert yt_q.status is Status.MERGED and yt_q.merged_into == zoom_q.id
    kept = next(q for q in questions if q.id == zoom_q.id)
    assert {a.source for a in kept.askers} == {"zoom", "youtube"}
    # hostile text was neutralised at ingestion
    hostile = next(q for q in by_source["youtube"] if "click me" in q.text)
    assert "\x1b" not in hostile.text and "\u202e" not in hostile.text
    assert any(q.status is Status.ANSWERED for q in questions)

    config = tmp_path / "townhall.toml"
    config.write_text(f'[meeting]\ntitle = "{MEETING_TITLE}"\n[store]\npath = "{store_path}"\n')
    notes = tmp_path / "notes.md"
    exported = townhall("export", "--config", str(config), "--format", "markdown", "-o", str(notes))
    assert exported.returncode == 0, exported.stderr
    page = notes.read_text()
    assert page.startswith(f"# {MEETING_TITLE}")
    assert "harassment on talk pages" in page
    assert "buy cheap followers" not in page  # dismissed text never reaches the notes


def test_headless_demo_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """SIGTERM used to kill the demo on the spot: exit 143, no summary, and its temporary
    folder (store, Maildir, config) left behind in $TMPDIR."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from ..conftest import ROOT

    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temp)}
    proc = subprocess.Popen([sys.executable, "-m", "townhall", "demo", "--headless",
                             "--speed", "5", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the banner's last line: everything is running
            line = proc.stdout.readline()
            if not line or "another moderator" in line:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-2000:]
    assert "collectors:" in out and "questions" in out
    assert list(temp.glob("townhall-demo-*")) == []
