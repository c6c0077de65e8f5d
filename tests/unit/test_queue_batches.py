"""The queue's owner task: validation at the door, batches, and writes that fail."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from aggregator.commands import MAX_ID, Command, CommandError
from aggregator.model import Status
from aggregator.queue import QuestionQueue
from aggregator.store import Store, StoreError, Write

from ..conftest import incoming


def on_disk(queue: QuestionQueue) -> dict[int, tuple[str, int]]:
    reader = Store(queue.store.path, exclusive=False).open()
    try:
        return {q.id: (q.status.value, q.version) for q in reader.load_questions()}
    finally:
        reader.close()


def in_memory(queue: QuestionQueue) -> dict[int, tuple[str, int]]:
    return {q.id: (q.status.value, q.version) for q in queue.all()}


@pytest.mark.parametrize("command", [
    Command(op="next", question=1),
    Command(op="undo", question=2),
    Command(op="add", question=1, args={"text": "x?"}),
    Command(op="star", question=MAX_ID + 1),
    Command(op="star", question=1180591620717411303424),
    Command(op="star", question=-3),
    Command(op="star", question=0),
    Command(op="star", question=True),  # type: ignore[arg-type]
    Command(op="star", question="1"),  # type: ignore[arg-type]
    Command(op="star", question=1.0),  # type: ignore[arg-type]
    Command(op="star"),
    Command(op="star", question=1, if_version=2**64),
    Command(op="star", question=1, args=[1]),  # type: ignore[arg-type]
    Command(op="explode", question=1),
])
async def test_a_malformed_command_is_invalid_before_anything_is_decided(
        queue: QuestionQueue, command: Command) -> None:
    await queue.submit(incoming(1))
    seq = queue.seq
    with pytest.raises(CommandError) as refused:
        await queue.apply(command, "mod")
    assert refused.value.code == "invalid"
    assert queue.seq == seq and in_memory(queue) == on_disk(queue)


async def test_the_largest_sqlite_id_is_not_found_not_a_store_error(queue: QuestionQueue) -> None:
    with pytest.raises(CommandError) as refused:
        await queue.apply(Command(op="star", question=MAX_ID), "mod")
    assert refused.value.code == "not_found"


async def test_a_bad_next_racing_a_good_next_leaves_one_live_question(
        queue: QuestionQueue) -> None:
    for n in (1, 2, 3):
        await queue.submit(incoming(n))
        await queue.apply(Command(op="approve", question=n), "mod")
    await queue.apply(Command(op="next"), "mod")  # 1 live, 2 and 3 queued
    bad = asyncio.create_task(
        queue.apply(Command(op="next", question=1180591620717411303424), "host-a"))
    good = asyncio.create_task(queue.apply(Command(op="next"), "host-b"))
    results = await asyncio.gather(bad, good, return_exceptions=True)
    assert isinstance(results[0], CommandError) and results[0].code == "invalid"
    assert on_disk(queue) == in_memory(queue)
    statuses = {qid: status for qid, (status, _v) in on_disk(queue).items()}
    assert statuses == {1: "answered", 2: "live", 3: "queued"}


async def test_a_failing_write_fails_alone_and_what_followed_is_decided_again(
        queue: QuestionQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in (1, 2):
        await queue.submit(incoming(n))
    real_apply = Write.apply

    def failing(self: Write, conn: sqlite3.Connection) -> None:
        if self.command is not None and self.command.op == "approve" \
                and self.command.question_id == 1:
            raise sqlite3.OperationalError("disk I/O error")
        real_apply(self, conn)

    monkeypatch.setattr(Write, "apply", failing)
    star = asyncio.create_task(queue.apply(Command(op="star", question=2), "a"))
    approve = asyncio.create_task(queue.apply(Command(op="approve", question=1), "b"))
    go_live = asyncio.create_task(queue.apply(Command(op="go_live", question=1), "c"))
    arrival = asyncio.create_task(queue.submit(incoming(3)))
    starred, approved, live, arrived = await asyncio.gather(
        star, approve, go_live, arrival, return_exceptions=True)
    assert [q.id for q in starred] == [2]  # before the failure: committed
    assert isinstance(approved, StoreError) and "disk I/O error" in str(approved)
    # decided again without the failed approve: #1 is new, so it cannot go live
    assert isinstance(live, CommandError) and live.code == "invalid"
    assert arrived.created and arrived.question.id == 3
    assert queue.get(1).status is Status.NEW and queue.get(2).starred
    assert in_memory(queue) == on_disk(queue)


async def test_a_failed_transaction_fails_every_caller_and_changes_nothing(
        queue: QuestionQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    await queue.submit(incoming(1))
    before = in_memory(queue), queue.seq
    import aggregator.group_commit as group_commit
    from contextlib import contextmanager

    @contextmanager
    def broken(conn):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database or disk is full")
        yield conn

    monkeypatch.setattr(group_commit, "transaction", broken)
    results = await asyncio.gather(
        queue.apply(Command(op="star", question=1), "a"), queue.submit(incoming(2)),
        return_exceptions=True)
    assert all(isinstance(r, StoreError) and "disk is full" in str(r) for r in results)
    assert (in_memory(queue), queue.seq) == before
    monkeypatch.undo()
    assert in_memory(queue) == on_disk(queue)
    await queue.apply(Command(op="star", question=1), "a")  # the queue goes on
    assert queue.get(1).starred


async def test_a_new_row_never_replaces_another_messages_row(tmp_path) -> None:
    """Two writers on one file (which the lock prevents) would clash on ids: the second
    insert fails instead of overwriting a row another process acknowledged."""
    from aggregator.model import Author, Question

    store = Store(tmp_path / "t.db").open()
    try:
        def question(external_id: str) -> Question:
            return Question(id=1, source="zoom", external_id=external_id,
                            author=Author(name="A", id="a"), text="Why?",
                            received_at="2026-11-30T00:00:00.000Z")

        store.write_now([Write(created=[question("first")])])
        with pytest.raises(sqlite3.IntegrityError):
            store.write_now([Write(created=[question("second")])])
        assert [q.external_id for q in store.load_questions()] == ["first"]
    finally:
        store.close()


async def test_private_message_needs_a_confirmation_to_reach_the_host(
        queue: QuestionQueue) -> None:
    await queue.submit(incoming(1, "My account was blocked", source="zoom", flags=("private",)))
    with pytest.raises(CommandError) as refused:
        await queue.apply(Command(op="approve", question=1), "mod")
    assert refused.value.code == "invalid" and "private" in refused.value.message
    assert queue.get(1).status is Status.NEW
    await queue.apply(Command(op="approve", question=1, args={"confirm_private": True}), "mod")
    q = queue.get(1)
    assert q.status is Status.QUEUED and "private_confirmed" in q.flags
    await queue.apply(Command(op="go_live", question=1), "mod")  # confirmed once is enough
    assert queue.get(1).status is Status.LIVE


async def test_a_private_asker_stays_hidden_after_a_merge_and_lends_no_wording_unasked(
        queue: QuestionQueue) -> None:
    from aggregator.privacy import HIDDEN_ASKER
    from aggregator.roles import present

    public = (await queue.submit(incoming(1, "Will the API stay free?", author="Ana"))).question
    private = (await queue.submit(incoming(2, "Will the API stay free? (my account...)",
                                           source="zoom", author="Grace",
                                           flags=("private",)))).question
    await queue.apply(Command(op="approve", question=public.id), "mod")
    with pytest.raises(CommandError) as refused:
        await queue.apply(Command(op="merge", question=private.id,
                                  args={"into": public.id, "use_wording": True}), "mod")
    assert refused.value.code == "invalid" and "private" in refused.value.message
    await queue.apply(Command(op="merge", question=private.id, args={"into": public.id}), "mod")
    kept = queue.get(public.id)
    assert [a.private for a in kept.askers] == [False, True]
    host = present("host", kept)
    assert host.askers == ("Ana", HIDDEN_ASKER) and "Grace" not in str(host)


async def test_a_ban_from_the_config_file_is_not_lifted_by_unban(tmp_path) -> None:
    from tests.conftest import started_queue

    async with started_queue(tmp_path / "t.db", config_bans=["youtube:UCX"]) as queue:
        with pytest.raises(CommandError) as refused:
            await queue.apply(Command(op="unban", args={"identity": "youtube:UCX"}), "mod")
        assert refused.value.code == "invalid" and "[triage] banned" in refused.value.message
        assert "youtube:UCX" in queue.bans
