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


async def test_since_is_the_sent_date_not_the_file_time(tmp_path: Path,
                                                        queue: QuestionQueue) -> None:
    from datetime import date, datetime, timedelta, timezone

    def dated(text: str, days_ago: int) -> bytes:
        sent = datetime.now(timezone.utc) - timedelta(days=days_ago)
        return build_mail("Question for Maggie", text, date=sent)

    long_ago = 946_684_800  # 2000-01-01, as a file time
    writer = MaildirWriter(tmp_path / "Maildir")
    writer.deliver(dated("Sent long ago, copied in today?", 60))  # skipped: its Date is old
    recent = writer.deliver(dated("Sent last week, old file?", 5))  # taken: its Date is recent
    os.utime(recent, (long_ago, long_ago))
    no_date = b"From: a@example.org\r\nSubject: Question for Maggie\r\n\r\n"
    writer.deliver(no_date + b"No Date, new file?\r\n")  # no Date: the file time decides
    os.utime(writer.deliver(no_date + b"No Date, old file?\r\n"), (long_ago, long_ago))
    since = date.today() - timedelta(days=10)
    async with watching(queue, tmp_path / "Maildir", since=since) as health:
        await wait_for(lambda: state(health) == "live")
        assert sorted(q.text for q in queue.all()) == ["No Date, new file?",
                                                       "Sent last week, old file?"]
        # while watching, the same rule: an old mail re-filed now stays out
        writer.deliver(dated("Re-filed now, sent long ago?", 60))
        writer.deliver(dated("Sent just now?", 0))
        await wait_for(lambda: len(queue) == 3)
    assert sorted(q.text for q in queue.all()) == ["No Date, new file?", "Sent just now?",
                                                   "Sent last week, old file?"]


def test_build_collectors_picks_the_email_source(tmp_path: Path) -> None:
    health = HealthRegistry()
    imap = parse_config('[email]\nenabled = true\nhost = "imap.example.org"\nusername = "u"\n'
                        'subject_include = ["Question for Maggie"]\n')
    assert [type(c) for c in build_collectors(imap, health)] == [ImapCollector]
    local = parse_config(f'[email]\nenabled = true\nmaildir = "{tmp_path}"\n')
    assert [type(c) for c in build_collectors(local, health)] == [MaildirCollector]
    assert build_collectors(parse_config("[email]\nenabled = false\n"), health) == []
