"""The IMAP collector against a real IMAP server: pymap on a free loopback port, started here,
mail put in with IMAP APPEND. No mocks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.collectors.imap import ImapWorker
from aggregator.collectors.imap_connect import connect, resolve_login
from aggregator.model import Author, Incoming
from aggregator.queue import QuestionQueue
from tests.support.imap_server import PymapServer
from townhall.simulators.mail_writer import build_mail
from tests.conftest import started_queue
from tests.support.email_helpers import RULES, new_mailbox, running, settings_for, wait_for, state

HUGE_BODY = "Why is this mail so long?\n" + ("padding line of a huge message\n" * 120_000)

BEFORE_START = {
    # name: (raw mail, expected text of the question or None when it must be skipped)
    "plain": (build_mail("Question for Maggie", "What is the budget for 2023?",
                         message_id="<plain@example.org>"), "What is the budget for 2023?"),
    "excluded": (build_mail("Conversation with Maggie - a question for maggie", "slot?",
                            message_id="<excl@example.org>"), None),
    "autoreply": (build_mail("Question for Maggie", "I am away.", message_id="<auto@example.org>",
                             headers={"Auto-Submitted": "auto-replied"}), None),
    "reply": (build_mail("Re: Question for Maggie", "+1", message_id="<re@example.org>"), None),
    "rfc2047": (b"From: =?utf-8?q?Luc=C3=ADa_P=C3=A9rez?= <lucia@example.org>\r\n"
                b"Subject: =?utf-8?q?Question_for_Maggie_=E2=80=93_caf=C3=A9?=\r\n"
                b"Message-ID: <rfc2047@example.org>\r\n\r\nCaf\xc3\xa9 or tea?\r\n", "Café or tea?"),
    "html": (build_mail("Question for Maggie", "How &amp; when?\n<script>x()</script>", html=True,
                        message_id="<html@example.org>"), "How & when?"),
    "charset": (b"From: a@example.org\r\nSubject: Question for Maggie\r\n"
                b"Message-ID: <cs@example.org>\r\n"
                b"Content-Type: text/plain; charset=x-unknown-foo\r\n\r\ncaf\xe9?\r\n", "caf\ufffd?"),
    "broken": (b"From: =?utf-8?q?=0A?= <bad@example.org>\r\nTo: \"\r\n"
               b"Subject: Question for Maggie\r\nMessage-ID: <[b378@microsoft.com]>\r\n"
               b"Content-Type: text/plain; name*\r\n\r\nStill readable?\r\n", "Still readable?"),
    "huge": (build_mail("Question for Maggie", HUGE_BODY, message_id="<huge@example.org>"),
             "Why is this mail so long?"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PymapServer]:
    srv = PymapServer(tmp_path_factory.mktemp("pymap")).start()
    yield srv
    srv.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[PymapServer]:
    """A server this test may kill, restart and renumber."""
    srv = PymapServer(tmp_path / "pymap").start()
    yield srv
    srv.stop()


def texts(queue: QuestionQueue) -> list[str]:
    return sorted(q.text for q in queue.all())


async def test_mail_sent_before_the_start_is_taken_and_filtered(server: PymapServer,
                                                                queue: QuestionQueue) -> None:
    user = new_mailbox(server)
    server.append(*(raw for raw, _ in BEFORE_START.values()), user=user, password="secret")
    expected = sorted(text for _, text in BEFORE_START.values() if text is not None)
    async with running(queue, settings_for(server, user)) as health:
        await wait_for(lambda: len(queue) >= len(expected))
        await wait_for(lambda: state(health) == "live")
    assert [t.split("\n")[0] for t in texts(queue)] == expected
    by_id = {q.external_id: q for q in queue.all()}
    assert by_id["rfc2047@example.org"].author.name == "Lucía Pérez"
    assert by_id["rfc2047@example.org"].meta["subject"] == "Question for Maggie – café"
    assert by_id["html@example.org"].meta["body_format"] == "html"
    assert "x()" not in by_id["html@example.org"].text
    assert by_id["[b378@microsoft.com]"].meta["parsed_with"] == "compat32"
    huge = by_id["huge@example.org"]
    assert len(huge.text) <= 5_000 and huge.meta["truncated"] is True
    # the owner's unread marks are untouched (EXAMINE + BODY.PEEK[])
    client = server.client(user, "secret")
    client.select_folder("INBOX", readonly=True)
    flags = client.get_flags(client.search(["ALL"]))
    client.logout()
    assert all(b"\\Seen" not in f for f in flags.values())


async def test_new_mail_during_a_run_arrives_through_idle_and_restart_resumes(
        server: PymapServer, db_path: Path) -> None:
    user = new_mailbox(server)
    server.append(build_mail("Question for Maggie", "First?", message_id="<1@x>"),
                  user=user, password="secret")
    settings = settings_for(server, user, idle_slice=60.0, poll_interval=600.0)
    async with started_queue(db_path) as queue:
        async with running(queue, settings) as health:
            await wait_for(lambda: len(queue) == 1)
            await wait_for(lambda: state(health) == "live")
            await asyncio.sleep(0.3)  # inside IDLE now
            server.append(build_mail("Question for Maggie", "Second?", message_id="<2@x>"),
                          user=user, password="secret")
            # far below idle_slice and poll_interval: only an IDLE push explains the arrival
            await wait_for(lambda: len(queue) == 2, timeout=10)
        checkpoint = queue.checkpoint(settings.checkpoint_name)
        assert checkpoint["last_uid"] == 2 and checkpoint["uidvalidity"] > 0

    # Townhall restarts from its checkpoint: nothing twice, new mail taken
    server.append(build_mail("Question for Maggie", "Third?", message_id="<3@x>"),
                  user=user, password="secret")
    async with started_queue(db_path) as queue:
        async with running(queue, settings) as health:
            await wait_for(lambda: len(queue) == 3)
            await wait_for(lambda: state(health) == "live")
            assert health.get("email").received == 1  # type: ignore[union-attr]
        assert texts(queue) == ["First?", "Second?", "Third?"]


async def test_uids_at_or_below_the_checkpoint_are_dropped_client_side(
        server: PymapServer) -> None:
    user = new_mailbox(server)
    server.append(*(build_mail("Question for Maggie", f"Q{i}?") for i in range(3)),
                  user=user, password="secret")
    settings = settings_for(server, user)
    client = connect(settings, resolve_login(settings, lambda _e: "secret"))
    uidvalidity = client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
    assert client.search(["UID", "4:*"]) == [3]  # the server does answer with the last UID
    delivered: list[list[Incoming]] = []
    worker = ImapWorker(settings, RULES, {"uidvalidity": uidvalidity, "last_uid": 3},
                        lambda: None, lambda inc, cp, p: delivered.append(inc) or (lambda: None),
                        lambda *a, **k: None)
    worker.uidvalidity = uidvalidity
    worker._catch_up(client, 0)  # noqa: SLF001 - the step under test, on a real connection
    client.logout()
    assert delivered == []


async def test_backlog_after_select_is_fetched_by_uid_without_search(
        server: PymapServer, queue: QuestionQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after SELECT the backlog is UID 1 .. UIDNEXT-1 (pymap opens every message to
    answer SEARCH); an expunged UID in the middle is simply absent, pages stay in order."""
    from imapclient import IMAPClient

    user = new_mailbox(server)
    server.append(*(build_mail("Question for Maggie", f"Q{i}?") for i in range(7)),
                  user=user, password="secret")
    owner = server.client(user, "secret")
    owner.select_folder("INBOX")
    owner.delete_messages([3])
    owner.expunge()
    owner.logout()
    searches: list[object] = []
    real_search = IMAPClient.search
    monkeypatch.setattr(IMAPClient, "search",
                        lambda self, *a, **k: searches.append(a) or real_search(self, *a, **k))
    async with running(queue, settings_for(server, user, batch_size=2)) as health:
        await wait_for(lambda: state(health) == "live")
        assert searches == []
    assert texts(queue) == [f"Q{i}?" for i in (0, 1, 3, 4, 5, 6)]
    assert queue.checkpoint(settings_for(server, user).checkpoint_name)["last_uid"] == 7


async def test_sparse_uids_fall_back_to_search(server: PymapServer) -> None:
    """UIDNEXT far beyond the message count (mass deletions): one SEARCH, not empty pages."""
    user = new_mailbox(server)
    server.append(*(build_mail("Question for Maggie", f"Q{i}?") for i in range(3)),
                  user=user, password="secret")
    settings = settings_for(server, user)
    client = connect(settings, resolve_login(settings, lambda _e: "secret"))
    worker_pages: list[int] = []
    worker = ImapWorker(settings, RULES, None, lambda: None,
                        lambda inc, cp, p: worker_pages.append(len(inc)) or (lambda: None),
                        lambda *a, **k: None)
    worker.uidvalidity = client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
    worker._catch_up(client, 1_000_000, exists=3)  # noqa: SLF001 - the branch under test
    client.logout()
    assert worker_pages == [3, 0] and worker.last_uid == 999_999


async def test_uidvalidity_change_rescans_and_dedupes_by_message_id(
        own_server: PymapServer, queue: QuestionQueue) -> None:
    srv = own_server
    srv.append(*(build_mail("Question for Maggie", f"Q{i}?", message_id=f"<q{i}@x>")
                 for i in range(3)))
    settings = settings_for(srv, srv.user)
    async with running(queue, settings):
        await wait_for(lambda: len(queue) == 3)
    before = queue.checkpoint(settings.checkpoint_name)
    srv.stop()
    srv.reset_uidvalidity()
    srv.start()
    srv.append(build_mail("Question for Maggie", "Q3?", message_id="<q3@x>"))
    async with running(queue, settings) as health:
        await wait_for(lambda: len(queue) == 4)
        await wait_for(lambda: state(health) == "live")
    after = queue.checkpoint(settings.checkpoint_name)
    assert after["uidvalidity"] != before["uidvalidity"]
    assert texts(queue) == ["Q0?", "Q1?", "Q2?", "Q3?"]


async def test_server_killed_and_restarted_nothing_lost_nothing_twice(
        own_server: PymapServer, queue: QuestionQueue) -> None:
    srv = own_server
    srv.append(build_mail("Question for Maggie", "Before the crash?", message_id="<a@x>"))
    states: list[str] = []
    async with running(queue, settings_for(srv, srv.user)) as health:
        await wait_for(lambda: len(queue) == 1)
        await wait_for(lambda: state(health) == "live")
        srv.kill()
        await wait_for(lambda: state(health) == "backoff")
        states.append(state(health))
        srv.start()
        srv.append(build_mail("Question for Maggie", "After the crash?", message_id="<b@x>"))
        await wait_for(lambda: len(queue) == 2, timeout=20)
    assert states == ["backoff"]
    assert texts(queue) == ["After the crash?", "Before the crash?"]


async def test_polling_fallback_when_idle_is_not_used(server: PymapServer,
                                                      queue: QuestionQueue) -> None:
    user = new_mailbox(server)
    async with running(queue, settings_for(server, user, use_idle=False, poll_interval=0.3)
                       ) as health:
        await wait_for(lambda: health.get("email") is not None
                       and state(health) == "live")
        assert "polling" in (health.get("email").reason or "")  # type: ignore[union-attr]
        server.append(build_mail("Question for Maggie", "Polled?"), user=user, password="secret")
        await wait_for(lambda: len(queue) == 1)


async def test_wrong_password_stops_with_a_fix(server: PymapServer, queue: QuestionQueue) -> None:
    from aggregator.collectors.base import supervise
    from aggregator.collectors.imap import ImapCollector
    from aggregator.health import HealthRegistry

    health = HealthRegistry()
    collector = ImapCollector(settings_for(server, server.user), RULES, health,
                              lambda _env: "wrong")
    await asyncio.wait_for(supervise(collector, queue, health), 20)
    state = health.get("email")
    assert state is not None and state.state == "stopped"
    assert "refused the login" in (state.reason or "") and "wrong" not in (state.reason or "")


def test_incoming_author_comes_from_from_header() -> None:
    # The collector's Incoming for a mail is the parser's; one check that wiring keeps it.
    from aggregator.collectors.email_parse import evaluate

    decision = evaluate(build_mail("Question for Maggie", "Hi?", from_name="Ana",
                                   from_address="Ana@Example.org"), RULES)
    assert decision.incoming is not None
    assert decision.incoming.author == Author(name="Ana", id="ana@example.org",
                                              email="ana@example.org")


def _dated(text: str, days_ago: int, message_id: str) -> bytes:
    from datetime import datetime, timedelta, timezone

    sent = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return build_mail("Question for Maggie", text, date=sent, message_id=message_id)


async def test_since_is_the_sent_date_not_the_arrival(server: PymapServer,
                                                      queue: QuestionQueue) -> None:
    from datetime import date, timedelta

    user = new_mailbox(server)
    # all appended now, as a migrated or re-filed mailbox is: only the Date header differs
    server.append(_dated("Sent long ago?", 60, "<old@x>"), _dated("Sent last week?", 5, "<wk@x>"),
                  b"From: a@example.org\r\nSubject: Question for Maggie\r\n"
                  b"Message-ID: <nodate@x>\r\n\r\nNo Date header, arrived now?\r\n",
                  user=user, password="secret")
    settings = settings_for(server, user, since=date.today() - timedelta(days=10))
    async with running(queue, settings) as health:
        await wait_for(lambda: state(health) == "live")
        assert texts(queue) == ["No Date header, arrived now?", "Sent last week?"]
        # while running: new mail comes by UID, and the same rule holds
        server.append(_dated("Re-filed today, sent long ago?", 60, "<old2@x>"),
                      _dated("Sent just now?", 0, "<now@x>"), user=user, password="secret")
        await wait_for(lambda: len(queue) == 3)
    assert texts(queue) == ["No Date header, arrived now?", "Sent just now?", "Sent last week?"]
