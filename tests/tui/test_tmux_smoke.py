"""The real `townhall run` in a real terminal (tmux): Zoom in the status line, add a manual
question, approve it, take a new one live with `l`, the page URLs screen, quit (confirmed).

Skipped only when tmux is not installed (`.ci/run` installs it). Uses its own tmux server
socket, so it never touches anyone's sessions, and kills only that server at the end.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from aggregator.model import Status
from tests.support.imap_server import free_port
from aggregator.store import Store

ROOT = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed "
                                "(apt-get install tmux; .ci/run does it)")


class Tmux:
    def __init__(self) -> None:
        self.socket = f"townhall-smoke-{uuid.uuid4().hex[:8]}"
        self.session = "smoke"

    def __call__(self, *args: str) -> str:
        proc = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=10)
        return proc.stdout

    def screen(self) -> str:
        return self("capture-pane", "-t", self.session, "-p")

    def alive(self) -> bool:
        return subprocess.run([TMUX, "-L", self.socket, "has-session", "-t", self.session],
                              capture_output=True, timeout=10).returncode == 0

    def start(self, command: str) -> None:
        """`command` in a new 120x35 session (the window resized too: tmux may ignore -x/-y)."""
        self("new-session", "-d", "-s", self.session, "-x", "120", "-y", "35", command)
        self("resize-window", "-t", self.session, "-x", "120", "-y", "35")

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", self.session, *keys)

    def add_question(self, text: str) -> None:
        """Type a manual question with n and submit it; it waits in Incoming."""
        self.keys("n")
        self.wait_for("New question")
        self.keys("-l", text)
        self.wait_for(text)
        self.keys("Enter")
        self.wait_for("1 Incoming (1)")

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; the screen was:\n{screen}")


def run_command(tmp_path: Path, then: str, *, zoom: bool = False) -> tuple[Path, str]:
    """The store path, and a shell command running the real `townhall run` on a fresh config
    in `tmp_path` (with the Zoom webhook collector when `zoom`), followed by `then` (run once
    it has exited)."""
    db = tmp_path / "townhall.db"
    config = tmp_path / "townhall.toml"
    config.write_text(f'[meeting]\ntitle = "Smoke meeting"\n[store]\npath = "{db}"\n'
                      f'[server]\nport = {free_port()}\n[tui]\nname = "Smoke"\n'
                      + ('[zoom]\nenabled = true\n' if zoom else ''))
    env = ("ZOOM_WEBHOOK_SECRET_TOKEN=smoke-secret TOWNHALL_HOST_TOKEN=smoke-host-token "
           if zoom else "")
    # COLUMNS / LINES from the test runner would override the terminal's own size.
    return db, (f"cd {shlex.quote(str(tmp_path))} && unset COLUMNS LINES && {env}PYTHONPATH={shlex.quote(str(ROOT))} "
                f"TEXTUAL_ANIMATIONS=none {shlex.quote(sys.executable)} -m townhall run "
                f"--config {shlex.quote(str(config))}; {then}")


def test_run_add_approve_quit(tmp_path: Path):
    db, command = run_command(tmp_path, "sleep 0.5", zoom=True)
    tmux = Tmux()
    env_note = os.environ.get("TERM", "")
    try:
        tmux.start(command)
        tmux.wait_for("1 Incoming (0)")
        tmux.wait_for("Zoom live")  # the webhook collector, in the status line
        tmux.keys("C-u")  # the page URLs, with the host token
        screen = tmux.wait_for("Page URLs")
        assert "/host#token=smoke-host-token" in screen, screen
        time.sleep(0.3)
        tmux.keys("Escape")
        time.sleep(0.3)  # a bare Escape must not merge with the next key
        tmux.wait_for("Question")  # the list's header: the URLs screen is closed
        tmux.add_question("Is this the smoke test?")
        tmux.keys("a")
        screen = tmux.wait_for("2 Host list (1)")
        assert "1 Incoming (0)" in screen
        tmux.add_question("Urgent from the floor?")  # an urgent one: l takes a new one live
        tmux.keys("l")
        screen = tmux.wait_for("2 Host list (2)")
        assert "1 Incoming (0)" in screen, screen
        tmux.keys("2")
        tmux.wait_for("LIVE")
        tmux.keys("C-q")  # Zoom is live: quitting asks first
        tmux.wait_for("Quit Townhall?")
        tmux.keys("y")
        deadline = time.monotonic() + 15
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not tmux.alive(), f"townhall run did not exit on ctrl+q (TERM={env_note})"
    finally:
        tmux("kill-server")
    with Store(db, exclusive=False) as store:
        questions = store.load_questions()
    assert [(q.text, q.status, q.source, q.author.name) for q in questions] == [
        ("Is this the smoke test?", Status.QUEUED, "manual", "From the room"),
        ("Urgent from the floor?", Status.LIVE, "manual", "From the room")]


def test_run_exits_cleanly_on_sigterm(tmp_path: Path):
    """`kill` (SIGTERM) or a closed terminal window (SIGHUP) used to end `townhall run` on the
    spot (status 143), with the terminal left in raw mode on the alternate screen."""
    import signal

    db, command = run_command(tmp_path, "echo EXIT=$?; sleep 30")
    tmux = Tmux()
    try:
        tmux.start(command)
        tmux.wait_for("1 Incoming (0)")
        shell = tmux("display-message", "-p", "-t", tmux.session, "#{pane_pid}").strip()
        children = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True,
                                  timeout=10).stdout.split()
        assert len(children) == 1, children
        os.kill(int(children[0]), signal.SIGTERM)
        screen = tmux.wait_for("EXIT=", timeout=20)
        assert "EXIT=0" in screen, screen
    finally:
        tmux("kill-server")
    with Store(db, exclusive=False) as store:  # closed in order: the lock is free, data intact
        assert store.integrity_check() == "ok"
