"""The Maildir source over a real folder written by the mail writer simulator, and the
collector chosen from config."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from aggregator.collectors import build_collectors
from aggregator.collectors.base import supervise
from aggregator.collectors.imap import ImapCollector
from aggregator.collectors.maildir import MaildirCollector
from aggregator.config import parse_config
from aggregator.health import HealthRegistry
from aggregator.queue import QuestionQueue
from townhall.simulators.mail_writer import MaildirWriter, build_mail, sample_mail
from tests.support.email_helpers import RULES, state, supervising, wait_for


@contextlib.asynccontextmanager
async def watching(queue: QuestionQueue, path: Path, **kw: object
                   ) -> AsyncIterator[HealthRegistry]:
    health = HealthRegistry()
    collector = MaildirCollector(path, RULES, health, interval=0.1, **kw)  # type: ignore[arg-type]
    async with supervising(collector, queue, health):
        yield health


async def test_maildir_backlog_new_files_and_no_duplicates(tmp_path: Path,
                                                           queue: QuestionQueue) -> None:
    writer = MaildirWriter(tmp_path / "Maildir")
    wanted = 0
    for i in range(20):
        raw, is_question = sample_mail(i)
        writer.deliver(raw)
        wanted += is_question
    async with watching(queue, tmp_path / "Maildir") as health:
        await wait_for(lambda: len(queue) == wanted)
        await wait_for(lambda: state(health) == "live")
        # a new mail while watching; a mail client moving a file to cur/ is not a new mail
        delivered = writer.deliver(build_mail("Question for Maggie", "Live one?"))
        await wait_for(lambda: len(queue) == wanted + 1)
        os.rename(delivered, tmp_path / "Maildir" / "cur" / (delivered.name + ":2,S"))
        await asyncio.sleep(0.4)
    assert len(queue) == wanted + 1
    assert sorted(os.listdir(tmp_path / "Maildir" / "new")) != []  # files were left in place
    # a restart reads the folder again; the Message-ID dedupe keeps it at one copy each
    async with watching(queue, tmp_path / "Maildir") as health:
        await wait_for(lambda: state(health) == "live")
    assert len(queue) == wanted + 1


async def test_not_a_maildir_stops_with_a_fix(tmp_path: Path, queue: QuestionQueue) -> None:
    health = HealthRegistry()
    collector = MaildirCollector(tmp_path / "nothing", RULES, health)
    await asyncio.wait_for(supervise(collector, queue, health), 5)
    state = health.get("email")
    assert state is not None and state.state == "stopped" and "Maildir" in (state.reason or "")


async def test_files_older_than_since_are_skipped(tmp_path: Path, queue: QuestionQueue) -> None:
    from datetime import date

    writer = MaildirWriter(tmp_path / "Maildir")
    old = writer.deliver(build_mail("Question for Maggie", "Old?"))
    os.utime(old, (946_684_800, 946_684_800))  # 2000-01-01
    writer.deliver(build_mail("Question for Maggie", "New?"))
    async with watching(queue, tmp_path / "Maildir", since=date(2020, 1, 1)) as health:
        await wait_for(lambda: state(health) == "live")
    assert [q.text for q in queue.all()] == ["New?"]


def test_build_collectors_picks_the_email_source(tmp_path: Path) -> None:
    health = HealthRegistry()
    imap = parse_config('[email]\nenabled = true\nhost = "imap.example.org"\nusername = "u"\n'
                        'subject_include = ["Question for Maggie"]\n')
    assert [type(c) for c in build_collectors(imap, health)] == [ImapCollector]
    local = parse_config(f'[email]\nenabled = true\nmaildir = "{tmp_path}"\n')
    assert [type(c) for c in build_collectors(local, health)] == [MaildirCollector]
    assert build_collectors(parse_config("[email]\nenabled = false\n"), health) == []
