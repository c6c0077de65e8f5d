"""End to end: `townhall demo --headless` through the real collectors, then a notes page."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from aggregator.model import Question, Status
from aggregator.store import Store
from townhall.demo_script import BANNED_CHANNEL, MEETING_TITLE, SCRIPT

from ..conftest import townhall

#: What the whole script leaves in the store, by (source, status). Every YouTube line and Zoom
#: message becomes a question (24 and 10 beats); of the 6 mails the agenda mail fails the subject
#: rules and Greta's "Re:" is a reply, so 4 are questions. The auto-moderator takes every likely
#: question that is not private: it approves it and says "next" until it is answered, or merges
#: it into an open question it repeats (Léa's repeat of Sofia's Zoom question, when Sofia's is
#: still open as Léa's arrives: that depends on the machine's speed, so both count as "taken").
#: The banned channel's two messages are dismissed; the one a chat moderator deleted is
#: "withdrawn" (dismissed if the deletion came before the moderator took it, else flagged);
#: chatter, thanks, the private note and the hostile line stay new.
SCRIPTED = {
    ("email", "taken"): 4,
    ("youtube", "taken"): 13, ("youtube", "dismissed"): 2, ("youtube", "withdrawn"): 1,
    ("youtube", "new"): 8,
    ("zoom", "taken"): 4, ("zoom", "new"): 6,
}
TAKEN = {Status.ANSWERED, Status.QUEUED, Status.LIVE, Status.MERGED}


def outcome(q: Question) -> str:
    if "withdrawn" in q.flags:  # dismissed if the deletion came first, else only flagged
        return "withdrawn"
    return "taken" if q.status in TAKEN else q.status.value


def printed_summary(out: str) -> tuple[int, str, str]:
    """The summary's count, by-source and by-status lines, as the demo printed them."""
    count = re.search(r"^(\d+) questions$", out, re.M)
    source = re.search(r"^  by source: (.*)$", out, re.M)
    status = re.search(r"^  by status: (.*)$", out, re.M)
    assert count and source and status, out[-2000:]
    return int(count[1]), source[1], status[1]


def tally(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items()))


def stored(path: Path) -> list[Question]:
    with Store(path, exclusive=False) as store:
        return store.load_questions()


def test_headless_demo_runs_every_source_and_exports_a_notes_page(tmp_path: Path) -> None:
    store_path = tmp_path / "demo.db"
    result = townhall("demo", "--headless", "--speed", "30", "--seconds", "24",
                      "--store", str(store_path), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"host page +http://127\.0\.0\.1:\d+/host#token=\S{20,}", out)
    assert re.search(r"stream overlay +http://127\.0\.0\.1:\d+/overlay#token=\S{20,}", out)
    assert "collectors: email live, server live, youtube live, zoom live" in out

    questions = stored(store_path)
    assert Counter((q.source, outcome(q)) for q in questions) == SCRIPTED
    # the host said "next" through the meeting: most of what was taken is answered
    answered = Counter(q.source for q in questions if q.status is Status.ANSWERED)
    assert all(answered[source] >= 3 for source in ("email", "youtube", "zoom")), answered
    assert printed_summary(out) == (len(questions), tally(Counter(q.source for q in questions)),
                                    tally(Counter(q.status.value for q in questions)))
    by_source: dict[str, list[Question]] = {}
    for q in questions:
        by_source.setdefault(q.source, []).append(q)
    assert len(by_source["youtube"]) == sum(b.channel == "youtube" for b in SCRIPT)
    assert len(by_source["zoom"]) == sum(b.channel == "zoom" for b in SCRIPT)
    # every channel delivered through its real collector (each leaves its own traces)
    assert sorted(q.author.name for q in by_source["email"]) == [
        "Ana Lima", "Ana Lima", "Kofi Mensah", "Sam Park"]  # not the agenda, not the reply
    assert all(q.meta.get("subject") for q in by_source["email"])
    assert all(q.external_id.startswith("MS17") for q in by_source["zoom"])
    assert [q.author.name for q in by_source["zoom"] if "private" in q.flags] == ["Grace"]
    # the banned channel's two messages arrived, dismissed with reason banned; the chat
    # moderator's deletion withdrew exactly the deleted message
    dismissed = Counter(q.dismiss_reason for q in questions if q.status is Status.DISMISSED)
    assert dismissed["banned"] == 2 and set(dismissed) <= {"banned", "withdrawn"}
    assert sorted(q.id for q in questions if q.author.id == BANNED_CHANNEL) == sorted(
        q.id for q in questions if q.dismiss_reason == "banned")
    assert [q.author.name for q in questions if "withdrawn" in q.flags] == ["Bad Actor"]
    # the same question on Zoom and YouTube: a duplicate hint, then merged by the moderator
    zoom_q = next(q for q in by_source["zoom"] if "harassment on talk pages" in q.text)
    yt_q = next(q for q in by_source["youtube"] if "harassment on talk pages" in q.text)
    assert yt_q.similar[0].id == zoom_q.id
    if yt_q.status is Status.MERGED:
        assert yt_q.merged_into == zoom_q.id
        assert {a.source for a in zoom_q.askers} == {"zoom", "youtube"}
    else:  # on a slow machine Sofia's question was answered before the moderator saw Léa's
        with Store(store_path, exclusive=False) as store:
            approved = next(e.at for e in store.history(yt_q.id) if e.action == "approve")
        assert zoom_q.answered_at is not None and zoom_q.answered_at <= approved
    # hostile text was neutralised at ingestion
    hostile = next(q for q in by_source["youtube"] if "click me" in q.text)
    assert "\x1b" not in hostile.text and "\u202e" not in hostile.text

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
    store_path = tmp_path / "demo.db"  # kept outside the demo's temporary folder
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temp)}
    proc = subprocess.Popen([sys.executable, "-m", "townhall", "demo", "--headless",
                             "--speed", "5", "--port", "0", "--store", str(store_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
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
    assert re.search(r"^collectors: email \w+, server live, youtube \w+, zoom \w+$", out, re.M)
    # the summary printed on the way out is what the store holds after the orderly shutdown
    questions = stored(store_path)
    assert printed_summary(out) == (len(questions), tally(Counter(q.source for q in questions)),
                                    tally(Counter(q.status.value for q in questions)))
    assert list(temp.glob("townhall-demo-*")) == []
