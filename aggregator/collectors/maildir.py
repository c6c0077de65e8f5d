"""The Maildir source (`[email] maildir = "path"`): the same parsing and rules as IMAP over a
local folder, watched for new files.

Decisions:
- Watching is a scan of `new/` and `cur/` once a second (two `os.scandir` calls): portable,
  no dependency, and a second is well inside what a moderator notices. `tmp/` is never read:
  a mail appears in `new/` only once it is completely written (atomic rename).
- The folder is only read, never changed (files are not moved from new/ to cur/), so the
  owner's mail client sees its mail as before.
- A mail's key is its file name up to the `:2,` info suffix, stable when a client moves it to
  cur/. Keys seen in this run are remembered in memory; after a restart every file is read
  again and the queue's dedupe on Message-ID (the external id) drops what is already stored,
  so no checkpoint is needed. Mail sent before `[email] since` is skipped: sent by its Date
  header, as IMAP's SENTSINCE (mail_since.py), so an old mail copied in today is still old; the
  file's modification time counts only for a mail without a readable Date.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path

from ..health import HealthRegistry
from ..model import Incoming
from .base import CollectorStopped, Sink, submit_counted
from .email_parse import evaluate
from .email_rules import SubjectRules
from .mail_since import sent_before

log = logging.getLogger("townhall.email")

MAX_FILE_BYTES = 2_000_000
PAGE = 100


def _key(name: str) -> str:
    return name.split(":", 1)[0]


def scan(path: Path, seen: set[str]) -> list[Path]:
    """Mail files in new/ and cur/ not seen yet, oldest first."""
    found: list[tuple[float, Path]] = []
    for sub in ("new", "cur"):
        try:
            entries = list(os.scandir(path / sub))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or _key(entry.name) in seen:
                continue
            try:
                mtime = entry.stat().st_mtime
            except FileNotFoundError:
                continue  # moved to cur/ meanwhile: the next scan finds it there
            found.append((mtime, Path(entry.path)))
    return [p for _, p in sorted(found)]


def read_page(files: Iterable[Path], rules: SubjectRules, since: date | None = None
              ) -> tuple[list[Incoming], list[str]]:
    """Parse a page of files (in a thread): the questions, and the keys that were handled."""
    incomings: list[Incoming] = []
    handled: list[str] = []
    for path in files:
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_FILE_BYTES)
                arrived = datetime.fromtimestamp(os.fstat(fh.fileno()).st_mtime, timezone.utc)
        except FileNotFoundError:
            continue  # renamed into cur/ between scan and read; found again next scan
        handled.append(_key(path.name))
        if sent_before(raw, since, arrived):
            log.info("maildir %s skipped: sent before [email] since", path.name)
            continue
        decision = evaluate(raw, rules, {"maildir_file": _key(path.name)})
        if decision.incoming is None:
            log.info("maildir %s %s", path.name, decision.reason)
        else:
            incomings.append(decision.incoming)
    return incomings, handled


class MaildirCollector:
    name = "email"

    def __init__(self, path: str | Path, rules: SubjectRules, health: HealthRegistry,
                 since: date | None = None, interval: float = 1.0) -> None:
        self.path = Path(path).expanduser()
        self.rules, self.health, self.since, self.interval = rules, health, since, interval

    async def run(self, sink: Sink) -> None:
        if not (self.path / "new").is_dir() and not (self.path / "cur").is_dir():
            raise CollectorStopped(
                f"[email] maildir {str(self.path)!r} is not a Maildir folder (no new/ or cur/ "
                "inside): point it at the folder that holds new/, cur/ and tmp/")
        seen: set[str] = set()
        while True:
            files = await asyncio.to_thread(scan, self.path, seen)
            total = len(files)
            for start in range(0, total, PAGE):
                if total > PAGE:
                    self.health.set(self.name, "starting",
                                    f"catching up: {start} of {total} mails",
                                    backlog={"done": start, "total": total})
                incomings, handled = await asyncio.to_thread(
                    read_page, files[start:start + PAGE], self.rules, self.since)
                await submit_counted(sink, self.health, self.name, incomings)
                seen.update(handled)
            state = self.health.get(self.name)
            if state is None or state.state != "live":
                self.health.set(self.name, "live", f"watching {self.path}", backlog=None)
            await asyncio.sleep(self.interval)
