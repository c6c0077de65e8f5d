"""One person across channels: linked identities share one ban, in both directions, and links
and bans survive a restart of the queue on the same store."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.commands import Command, CommandError
from aggregator.model import Status
from aggregator.queue import QuestionQueue
from tests.conftest import incoming, started_queue

YT = "youtube:UC-ana"
MAIL = "email:ana@example.org"


def yt(n: int, text: str = "What is the plan?") -> object:
    return incoming(f"yt{n}", text, source="youtube", author="Ana", author_id="UC-ana")


def mail(n: int, text: str = "What is the plan?", address: str = "Ana@Example.org") -> object:
    return incoming(f"mail{n}", text, source="email", author="Ana", author_id=address,
                    email=address)


def zoom(n: int, text: str = "What is the plan?") -> object:
    return incoming(f"zoom{n}", text, source="zoom", author="Ana R", author_id="ana-zoom")


async def link(queue: QuestionQueue, *identities: str) -> None:
    await queue.apply(Command(op="link", args={"identities": list(identities)}), "mod")


async def test_banning_on_one_channel_covers_every_linked_identity(queue: QuestionQueue) -> None:
    await link(queue, YT, MAIL, "zoom:ana-zoom")
    first = (await queue.submit(yt(1))).question
    await queue.apply(Command(op="ban", question=first.id), "mod")
    assert {YT, MAIL, "zoom:ana-zoom"} <= queue.bans
    for message in (yt(2), mail(1), zoom(1)):
        q = (await queue.submit(message)).question
        assert (q.status, q.dismiss_reason) == (Status.DISMISSED, "banned"), q.source
        assert "banned_author" in q.flags


async def test_a_ban_on_the_email_side_reaches_youtube_through_the_link(
        queue: QuestionQueue) -> None:
    first = (await queue.submit(mail(1))).question
    await queue.apply(Command(op="ban", question=first.id), "mod")
    assert MAIL in queue.bans and YT not in queue.bans
    before = (await queue.submit(yt(1))).question
    assert before.status is Status.NEW  # not linked yet: a different person as far as we know
    await link(queue, YT, MAIL)
    after = (await queue.submit(yt(2))).question
    assert (after.status, after.dismiss_reason) == (Status.DISMISSED, "banned")
    assert queue.is_banned(after) and queue.is_banned(before)


async def test_links_are_found_whatever_the_case_of_an_email_address(
        queue: QuestionQueue) -> None:
    await link(queue, YT, "email:ANA@example.ORG")
    banned = (await queue.submit(yt(1))).question
    await queue.apply(Command(op="ban", question=banned.id), "mod")
    q = (await queue.submit(mail(1, address="ana@EXAMPLE.org"))).question
    assert q.dismiss_reason == "banned"


async def test_linking_a_banned_person_flags_their_other_open_questions(
        queue: QuestionQueue) -> None:
    waiting = (await queue.submit(yt(1))).question
    first = (await queue.submit(mail(1))).question
    await queue.apply(Command(op="ban", question=first.id), "mod")
    assert queue.get(waiting.id).status is Status.NEW
    await link(queue, YT, MAIL)
    q = queue.get(waiting.id)
    assert (q.status, q.dismiss_reason) == (Status.DISMISSED, "banned")


async def test_unban_of_one_identity_lifts_the_whole_persons_ban(queue: QuestionQueue) -> None:
    await link(queue, YT, MAIL)
    first = (await queue.submit(yt(1))).question
    await queue.apply(Command(op="ban", question=first.id), "mod")
    await queue.apply(Command(op="unban", args={"identity": MAIL}), "mod")
    assert not ({YT, MAIL} & queue.bans)
    q = (await queue.submit(yt(2))).question
    assert q.status is Status.NEW


async def test_undo_of_a_ban_restores_every_identity(queue: QuestionQueue) -> None:
    await link(queue, YT, MAIL)
    first = (await queue.submit(yt(1))).question
    await queue.apply(Command(op="ban", question=first.id), "mod")
    await queue.apply(Command(op="undo"), "mod")
    assert not ({YT, MAIL} & queue.bans)


async def test_unlinked_identities_no_longer_share_a_ban(queue: QuestionQueue) -> None:
    await link(queue, YT, MAIL)
    await queue.apply(Command(op="unlink", args={"identities": [MAIL]}), "mod")
    first = (await queue.submit(yt(1))).question
    await queue.apply(Command(op="ban", question=first.id), "mod")
    assert MAIL not in queue.bans
    assert (await queue.submit(mail(1))).question.status is Status.NEW


async def test_link_needs_two_valid_identities(queue: QuestionQueue) -> None:
    for args in ({"identities": [YT]}, {"identities": ["no-colon", YT]}, {"identities": "x"}):
        try:
            await link(queue, *args["identities"]) if isinstance(args["identities"], list) \
                else await queue.apply(Command(op="link", args=args), "mod")
        except CommandError as exc:
            assert exc.code == "invalid"
        else:
            raise AssertionError(f"{args} was accepted")


async def test_links_and_bans_survive_a_restart(db_path: Path) -> None:
    async with started_queue(db_path) as queue:
        await link(queue, YT, MAIL, "zoom:ana-zoom")
        first = (await queue.submit(yt(1))).question
        await queue.apply(Command(op="ban", question=first.id), "mod")
    async with started_queue(db_path) as queue:
        assert queue.links[YT] == queue.links[MAIL] == queue.links["zoom:ana-zoom"]
        assert {YT, MAIL, "zoom:ana-zoom"} <= queue.bans
        q = (await queue.submit(zoom(9))).question
        assert (q.status, q.dismiss_reason) == (Status.DISMISSED, "banned")


async def test_a_link_or_unlink_whose_write_fails_leaves_the_links_as_they_were(
        queue: QuestionQueue) -> None:
    from aggregator.store import StoreError

    await link(queue, YT, MAIL)
    before = dict(queue.links)
    conn = queue.store._read  # noqa: SLF001 - sabotage the real transaction inside SQLite
    for event in ("INSERT", "DELETE"):
        conn.execute(f"CREATE TRIGGER boom_{event} BEFORE {event} ON identity_links BEGIN "
                     "SELECT RAISE(ABORT, 'disk says no'); END")
    with pytest.raises(StoreError, match="disk says no"):
        await link(queue, YT, "zoom:ana-zoom")
    assert queue.links == before == queue.store.identity_links()
    with pytest.raises(StoreError, match="disk says no"):
        await queue.apply(Command(op="unlink", args={"identities": [MAIL]}), "mod")
    assert queue.links == before == queue.store.identity_links()
