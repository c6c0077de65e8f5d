"""The queue: undo of every command, merge and ban semantics, idempotence, subscriptions."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from aggregator.commands import Command, CommandError
from aggregator.model import Hint, Status
from aggregator.queue import Checkpoint, QuestionQueue
from aggregator.subscription import Change, Snapshot
from aggregator.store import Store

from ..conftest import incoming, started_queue


def state(queue: QuestionQueue) -> dict[int, tuple]:
    """Everything a command may change, minus the version counter."""
    return {q.id: (q.status, q.rank, q.dismiss_reason, q.starred, q.tags, q.assignee, q.note,
                   q.edited_text, q.merged_into, q.askers, q.flags)
            for q in queue.all()}


async def setup_meeting(queue: QuestionQueue) -> None:
    """#1 new, #2 queued (rank 0), #3 queued (rank 1), #4 live, #5 answered, #6 dismissed."""
    for n in range(1, 7):
        await queue.submit(incoming(n, author=f"p{n}", email=f"p{n}@example.org"))
    for qid in (2, 3, 4, 5):
        await queue.apply(Command(op="approve", question=qid), "setup")
    await queue.apply(Command(op="go_live", question=5), "setup")
    await queue.apply(Command(op="answered", question=5), "setup")
    await queue.apply(Command(op="go_live", question=4), "setup")
    await queue.apply(Command(op="dismiss", question=6, args={"reason": "spam"}), "setup")


UNDOABLE = [
    Command(op="approve", question=1),
    Command(op="dismiss", question=1, args={"reason": "case_specific"}),
    Command(op="dismiss", question=2, args={"reason": "duplicate"}),
    Command(op="restore", question=6),
    Command(op="go_live", question=2),
    Command(op="next"),
    Command(op="answered", question=4),
    Command(op="requeue", question=4),
    Command(op="follow_up", question=3),
    Command(op="reopen", question=5),
    Command(op="star", question=1),
    Command(op="edit", question=1, args={"text": "Better wording?"}),
    Command(op="tag", question=1, args={"tags": ["ucoc", "ucoc", " budget "]}),
    Command(op="assign", question=2, args={"assignee": "Jan"}),
    Command(op="note", question=5, args={"note": "Answered: yes."}),
    Command(op="merge", question=1, args={"into": 2, "use_wording": True}),
    Command(op="reorder", question=3, args={"rank": 0}),
    Command(op="ban", question=1),
    Command(op="add", args={"text": "From the room: what next?", "author": "Room"}),
]


@pytest.mark.parametrize("command", UNDOABLE, ids=lambda c: c.op + str(c.question or ""))
async def test_undo_reverts_each_command(queue: QuestionQueue, command: Command) -> None:
    await setup_meeting(queue)
    before, bans_before = state(queue), set(queue.bans)
    changed = await queue.apply(command, "ana")
    assert changed, "the command changed something"
    assert state(queue) != before or queue.bans != bans_before
    await queue.apply(Command(op="undo"), "ana")
    after = state(queue)
    if command.op == "add":  # questions are never deleted: the added one is withdrawn
        new_id = max(after)
        assert after[new_id][0] is Status.DISMISSED and after[new_id][2] == "withdrawn"
        del after[new_id]
    assert after == before
    assert queue.bans == bans_before
    history = queue.history(changed[0].id)
    assert history[-1].action in ("undo", "dismiss") and history[-1].actor == "ana"


async def test_undo_is_per_actor_and_refuses_when_someone_changed_it_since(
        queue: QuestionQueue) -> None:
    await setup_meeting(queue)
    await queue.apply(Command(op="star", question=1), "ana")
    await queue.apply(Command(op="approve", question=1), "bo")
    with pytest.raises(CommandError) as err:
        await queue.apply(Command(op="undo"), "ana")  # bo changed #1 after ana's star
    assert err.value.code == "conflict"
    await queue.apply(Command(op="undo"), "bo")
    assert queue.get(1).status is Status.NEW
    await queue.apply(Command(op="undo"), "ana")  # now ana's star can be undone
    assert not queue.get(1).starred
    with pytest.raises(CommandError, match="nothing to undo"):
        await queue.apply(Command(op="undo"), "nobody")


async def test_undo_survives_a_restart(db_path) -> None:
    async with started_queue(db_path) as queue:
        await queue.submit(incoming(1))
        await queue.apply(Command(op="approve", question=1), "ana")
    async with started_queue(db_path) as queue:
        await queue.apply(Command(op="undo"), "ana")
        assert queue.get(1).status is Status.NEW


async def test_merge_keeps_every_asker(queue: QuestionQueue) -> None:
    a = (await queue.submit(incoming(1, author="Ana", source="youtube"))).question
    b = (await queue.submit(incoming(2, author="Bo", source="zoom"))).question
    c = (await queue.submit(incoming(3, author="Cy", source="email", email="cy@x.org"))).question
    again = (await queue.submit(incoming(4, author="Ana", source="youtube"))).question
    await queue.apply(Command(op="merge", question=b.id, args={"into": c.id}), "mod")
    await queue.apply(Command(op="merge", question=c.id, args={"into": a.id}), "mod")
    await queue.apply(Command(op="merge", question=again.id, args={"into": a.id}), "mod")
    kept = queue.get(a.id)
    assert {(x.source, x.name) for x in kept.askers} == {
        ("youtube", "Ana"), ("zoom", "Bo"), ("email", "Cy")}
    assert len(kept.askers) == 3  # Ana asked twice under one identity: counted once
    assert queue.get(c.id).status is Status.MERGED and queue.get(c.id).merged_into == a.id
    with pytest.raises(CommandError):
        await queue.apply(Command(op="merge", question=a.id, args={"into": c.id}), "mod")


async def test_ban_dismisses_new_questions_and_later_messages_arrive_dismissed(
        queue: QuestionQueue) -> None:
    first = (await queue.submit(incoming(1, author="Troll", email="t@x.org"))).question
    second = (await queue.submit(incoming(2, author="Troll", email="t@x.org"))).question
    other = (await queue.submit(incoming(3, author="Fine"))).question
    await queue.apply(Command(op="approve", question=second.id), "mod")
    await queue.apply(Command(op="ban", question=first.id), "mod")
    assert queue.get(first.id).status is Status.DISMISSED
    assert queue.get(first.id).dismiss_reason == "banned"
    assert queue.get(second.id).status is Status.QUEUED  # approved ones are flagged, not removed
    assert "banned_author" in queue.get(second.id).flags
    assert queue.get(other.id).status is Status.NEW
    later = (await queue.submit(incoming(4, author="Troll"))).question
    assert later.status is Status.DISMISSED and later.dismiss_reason == "banned"
    by_email = (await queue.submit(incoming(5, source="email", author="T", author_id="t@x.org",
                                            email="T@X.org"))).question
    assert by_email.dismiss_reason == "banned"  # the ban covered the email address too
    await queue.apply(Command(op="unban", args={"identity": "youtube:id-Troll"}), "mod")
    await queue.apply(Command(op="unban", args={"identity": "email:t@x.org"}), "mod")
    assert (await queue.submit(incoming(6, author="Troll"))).question.status is Status.NEW


async def test_config_bans_apply_from_the_start(db_path) -> None:
    async with started_queue(db_path, config_bans=["zoom:spam@x.org"]) as queue:
        q = (await queue.submit(incoming(1, source="zoom", author_id="spam@x.org"))).question
        assert q.dismiss_reason == "banned"


async def test_the_same_message_twice_gives_one_question(queue: QuestionQueue) -> None:
    results = await asyncio.gather(*[queue.submit(incoming(1)) for _ in range(5)])
    assert sum(r.created for r in results) == 1
    assert {r.question.id for r in results} == {1}
    again = await queue.submit(incoming(1, text="changed text, same id"))
    assert not again.created and again.question.text == "What is the plan?"
    assert len(queue.store.load_questions()) == 1


async def test_checkpoint_commits_with_its_messages(queue: QuestionQueue) -> None:
    page = [incoming(n) for n in range(10)]
    results = await queue.submit_batch(page, Checkpoint("youtube", {"page_token": "P2"}))
    assert all(r.created for r in results)
    stored = {q.external_id for q in queue.store.load_questions()}
    assert stored == {f"m{n}" for n in range(10)}
    assert queue.store.checkpoint("youtube") == {"page_token": "P2"}
    await queue.save_checkpoint(Checkpoint("youtube", {"page_token": "P3"}))
    assert queue.checkpoint("youtube") == {"page_token": "P3"}


async def test_a_failing_write_stores_neither_messages_nor_checkpoint(queue: QuestionQueue) -> None:
    from aggregator.store import StoreError

    await queue.submit(incoming(1), Checkpoint("imap", {"uid": 1}))
    # Sabotage the table the write needs, so the real transaction fails inside SQLite.
    conn = queue.store._read  # noqa: SLF001
    conn.execute("CREATE TRIGGER boom BEFORE INSERT ON questions BEGIN "
                 "SELECT RAISE(ABORT, 'disk says no'); END")
    with pytest.raises(StoreError, match="disk says no"):
        await queue.submit_batch([incoming(2), incoming(3)], Checkpoint("imap", {"uid": 3}))
    assert queue.store.checkpoint("imap") == {"uid": 1}
    assert queue.get(2) is None and queue.get(3) is None  # memory follows the disk
    conn.execute("DROP TRIGGER boom")
    retry = await queue.submit_batch([incoming(2), incoming(3)], Checkpoint("imap", {"uid": 3}))
    assert all(r.created for r in retry)
    assert queue.store.checkpoint("imap") == {"uid": 3}


async def next_event(subscription, timeout: float = 2.0):
    return await asyncio.wait_for(subscription.__anext__(), timeout)


async def test_subscriber_since_n_gets_exactly_the_later_changes_then_live_ones(
        queue: QuestionQueue) -> None:
    for n in range(1, 6):
        await queue.submit(incoming(n))
    await queue.apply(Command(op="approve", question=2), "mod")
    await queue.apply(Command(op="star", question=3), "mod")
    all_changes = queue.store.changes_since(0)
    since = all_changes[3][0]
    subscription = queue.subscribe(since)
    replay = [await next_event(subscription) for _ in range(len(all_changes) - 4)]
    assert [c.seq for c in replay] == [seq for seq, _ in all_changes[4:]]
    assert all(isinstance(c, Change) for c in replay)
    live = asyncio.ensure_future(next_event(subscription))
    await asyncio.sleep(0.05)
    assert not live.done()  # nothing more until something changes
    await queue.apply(Command(op="dismiss", question=4, args={"reason": "spam"}), "mod")
    change = await live
    assert change.seq == replay[-1].seq + 1
    assert change.question.id == 4 and change.question.status is Status.DISMISSED
    subscription.close()


async def test_snapshot_then_changes_without_gaps_or_repeats(queue: QuestionQueue) -> None:
    for n in range(1, 4):
        await queue.submit(incoming(n))
    subscription = queue.subscribe(None)
    snapshot = await next_event(subscription)
    assert isinstance(snapshot, Snapshot) and len(snapshot.questions) == 3
    writers = [asyncio.create_task(queue.submit(incoming(n))) for n in range(4, 54)]
    await asyncio.gather(*writers)
    seqs = [(await next_event(subscription)).seq for _ in range(50)]
    assert seqs == list(range(snapshot.seq + 1, snapshot.seq + 51))
    subscription.close()


async def test_snapshot_shares_the_queues_committed_objects(queue: QuestionQueue) -> None:
    """A local subscriber's snapshot reuses the queue's questions (one copy in memory), and a
    row that differs from the in-memory question is decoded from the store instead."""
    for n in range(1, 4):
        await queue.submit(incoming(n))
    await queue.apply(Command(op="star", question=2), "mod")
    snapshot = await next_event(queue.subscribe(None))
    assert isinstance(snapshot, Snapshot)
    assert all(q is queue.get(q.id) for q in snapshot.questions)
    stale = {q.id: q for q in queue.all()}
    stale[2] = msgspec.structs.replace(stale[2], version=1, starred=False)
    questions, _seq = queue.store.snapshot(stale)
    assert questions[0] is stale[1] and questions[1] is not stale[2]
    assert questions[1] == queue.get(2) and questions[1].starred


async def test_a_subscriber_that_falls_behind_catches_up_from_the_store(
        queue: QuestionQueue) -> None:
    subscription = queue.subscribe(0, buffer=10)
    for n in range(1, 101):
        await queue.submit(incoming(n))
    seqs = [(await next_event(subscription)).seq for _ in range(100)]
    assert seqs == list(range(1, 101))
    subscription.close()


async def test_published_only_after_commit(queue: QuestionQueue) -> None:
    subscription = queue.subscribe(0)
    pending = asyncio.ensure_future(next_event(subscription))
    result = await queue.submit(incoming(1))
    change = await pending
    # when the subscriber hears of it, the row is readable by another connection
    other = Store(queue.store.path, exclusive=False).open()
    try:
        assert change.question.id == result.question.id
        assert [q.id for q in other.load_questions()] == [change.question.id]
    finally:
        other.close()
    subscription.close()


def test_health_detail_set_to_none_is_removed() -> None:
    from aggregator.health import HealthRegistry

    health = HealthRegistry()
    health.set("email", "starting", "catching up", backlog={"done": 1, "total": 9})
    health.update_detail("email", quota=3)
    health.set("email", "live", "watching", backlog=None)
    assert health.get("email").detail == {"quota": 3}


async def test_a_command_on_a_question_whose_creation_fails_does_not_bring_it_back(
        queue: QuestionQueue) -> None:
    from aggregator.store import StoreError

    await queue.submit(incoming(1))
    queue.store._read.execute(  # noqa: SLF001 - only question 2's creation fails, in SQLite
        "CREATE TRIGGER boom BEFORE INSERT ON changes WHEN NEW.action = 'received'"
        " AND NEW.question_id = 2 BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    # one batch: the approve is decided seeing #2, then #2's write fails, so it is decided again
    creation = asyncio.create_task(queue.submit(incoming(2)))
    approve = asyncio.create_task(queue.apply(Command(op="approve", question=2), "mod"))
    created, approved = await asyncio.gather(creation, approve, return_exceptions=True)
    assert isinstance(created, StoreError) and "disk says no" in str(created)
    assert isinstance(approved, CommandError) and approved.code == "not_found"
    assert queue.get(2) is None
    assert [q.id for q in queue.store.load_questions()] == [1]


async def test_an_undo_takes_back_the_command_sent_just_before_it(queue: QuestionQueue) -> None:
    await queue.submit(incoming(1))
    await queue.apply(Command(op="star", question=1), "mod")
    creation = asyncio.create_task(queue.submit(incoming(2)))
    dismiss = asyncio.create_task(
        queue.apply(Command(op="dismiss", question=2, args={"reason": "spam"}), "mod"))
    await asyncio.sleep(0)  # the tasks have sent their items; the undo arrives after them
    await queue.apply(Command(op="undo"), "mod")
    await dismiss
    await creation
    assert queue.get(1).starred  # the star stays: the undo took back the dismiss
    assert queue.get(2).status is Status.NEW


async def test_a_ban_in_a_flood_is_decided_once_and_covers_the_whole_flood(
        queue: QuestionQueue, monkeypatch) -> None:
    import aggregator.decisions as decisions_module

    decisions = 0
    real_decide = decisions_module.decide

    def counting_decide(*args, **kw):  # type: ignore[no-untyped-def]
        nonlocal decisions
        decisions += 1
        return real_decide(*args, **kw)

    monkeypatch.setattr(decisions_module, "decide", counting_decide)
    first = (await queue.submit(incoming(1, author="Spam"))).question
    flood = [asyncio.create_task(queue.submit(incoming(n, author="Spam"))) for n in range(2, 300)]
    ban = asyncio.create_task(queue.apply(Command(op="ban", question=first.id), "mod"))
    later = [asyncio.create_task(queue.submit(incoming(n, author="Spam")))
             for n in range(300, 600)]
    await asyncio.gather(*flood, ban, *later)
    assert decisions == 1
    assert all(queue.get(q).status is Status.DISMISSED for q in range(1, 600))


async def test_question_ids_beyond_32_bits_are_indexed(tmp_path) -> None:
    from aggregator.importer import import_file

    big = 2**32 + 5
    export = {"meeting": {}, "exported_at": "2026-11-24T00:00:00.000Z", "questions": [
        {"id": big, "source": "youtube", "external_id": "m1", "text": "Why is the sky blue?",
         "author": {"name": "Ana", "id": "UC1"}, "received_at": "2026-11-24T00:00:00.000Z"}]}
    path = tmp_path / "export.json"
    path.write_text(__import__("json").dumps(export))
    store = Store(tmp_path / "t.db").open()
    try:
        import_file(store, path)
        queue = QuestionQueue(store)
        await queue.start()
        again = (await queue.submit(incoming(2, "why is the sky blue"))).question
        assert again.id == big + 1 and again.similar == (Hint(big, 1.0),)
        await queue.flush()
    finally:
        store.close()


async def test_two_quick_undos_take_back_two_commands(queue: QuestionQueue) -> None:
    await queue.submit(incoming(1))
    await queue.apply(Command(op="star", question=1), "mod")
    creation = asyncio.create_task(queue.submit(incoming(2)))
    dismiss = asyncio.create_task(
        queue.apply(Command(op="dismiss", question=2, args={"reason": "spam"}), "mod"))
    first = asyncio.create_task(queue.apply(Command(op="undo"), "mod"))
    second = asyncio.create_task(queue.apply(Command(op="undo"), "mod"))
    await asyncio.gather(dismiss, creation, first, second)
    assert queue.get(2).status is Status.NEW and not queue.get(1).starred


async def test_a_command_cancelled_before_it_is_decided_is_withdrawn(
        queue: QuestionQueue) -> None:
    await queue.submit(incoming(1))
    star = asyncio.create_task(queue.apply(Command(op="star", question=1), "mod"))
    undo = asyncio.create_task(queue.apply(Command(op="undo"), "mod"))
    await asyncio.sleep(0)  # both are in the inbox, neither decided
    undo.cancel()
    await asyncio.gather(undo, return_exceptions=True)
    changed = await star
    assert [q.id for q in changed] == [1] and queue.get(1).starred
    assert queue.store.last_command("mod").op == "star"


async def test_a_refused_command_writes_nothing(queue: QuestionQueue) -> None:
    await queue.submit(incoming(1))
    seq, commands = queue.seq, queue.store.max_command_id()
    for n in range(20):
        with pytest.raises(CommandError):
            await queue.apply(Command(op="star", question=999), f"actor{n}")
    await queue.flush()
    assert (queue.seq, queue.store.max_command_id()) == (seq, commands)
