"""Every transition of the status machine, and every illegal one, through the real queue."""

from __future__ import annotations

import pytest

from aggregator.commands import Command, CommandError
from aggregator.model import TRANSITIONS, IllegalTransition, Status, next_status
from aggregator.queue import QuestionQueue

from ..conftest import incoming

ARGS = {"dismiss": {"reason": "off_topic"}, "merge": {"into": 1}}


async def question_in(queue: QuestionQueue, status: Status, n: int) -> int:
    """Drive a fresh question into `status` with real commands; returns its id."""
    q = (await queue.submit(incoming(n))).question
    path = {
        Status.NEW: [],
        Status.QUEUED: ["approve"],
        Status.LIVE: ["approve", "go_live"],
        Status.ANSWERED: ["approve", "go_live", "answered"],
        Status.FOLLOW_UP: ["approve", "follow_up"],
        Status.DISMISSED: ["dismiss"],
        Status.MERGED: ["merge"],
    }[status]
    for op in path:
        await queue.apply(Command(op=op, question=q.id, args=ARGS.get(op, {})), "mod")
    assert queue.get(q.id).status is status
    return q.id


CASES = [(op, status) for op in TRANSITIONS for status in Status]


@pytest.mark.parametrize(("op", "status"), CASES, ids=[f"{o}-from-{s}" for o, s in CASES])
async def test_transition_is_allowed_exactly_where_the_machine_says(
        queue: QuestionQueue, op: str, status: Status) -> None:
    target_q = (await queue.submit(incoming("target", text="Merge target?"))).question
    assert target_q.id == 1
    qid = await question_in(queue, status, 2)
    args = {"dismiss": {"reason": "spam"}, "merge": {"into": target_q.id}}.get(op, {})
    allowed, target = TRANSITIONS[op]
    if status in allowed:
        changed = await queue.apply(Command(op=op, question=qid, args=args), "mod")
        assert queue.get(qid).status is target
        assert any(q.id == qid for q in changed)
    else:
        before = queue.get(qid)
        with pytest.raises(CommandError) as err:
            await queue.apply(Command(op=op, question=qid, args=args), "mod")
        assert err.value.code == "invalid"
        assert f"#{qid}" in err.value.message and str(status) in err.value.message
        assert op in err.value.message
        assert queue.get(qid) == before  # nothing changed


def test_illegal_transition_names_question_status_and_command(queue: QuestionQueue) -> None:
    from aggregator.model import Author, Question

    q = Question(id=7, source="zoom", external_id="x", author=Author(name="a", id="a"),
                 text="t", received_at="2024-01-01T00:00:00Z", status=Status.ANSWERED)
    with pytest.raises(IllegalTransition) as err:
        next_status(q, "approve")
    assert str(err.value).startswith("#7 is answered; 'approve'")


async def test_at_most_one_question_is_live(queue: QuestionQueue) -> None:
    a = await question_in(queue, Status.QUEUED, 1)
    b = await question_in(queue, Status.QUEUED, 2)
    await queue.apply(Command(op="go_live", question=a), "mod")
    await queue.apply(Command(op="go_live", question=b), "mod")
    live = [q for q in queue.all() if q.status is Status.LIVE]
    assert [q.id for q in live] == [b]
    # the one that was live went back to the top of the host list, not to "answered"
    assert queue.get(a).status is Status.QUEUED and queue.get(a).rank == 0


async def test_next_answers_the_live_one_and_takes_the_top_of_the_host_list(
        queue: QuestionQueue) -> None:
    a, b, c = [await question_in(queue, Status.QUEUED, n) for n in (1, 2, 3)]
    await queue.apply(Command(op="next"), "host")
    assert queue.get(a).status is Status.LIVE
    await queue.apply(Command(op="next"), "host")
    assert queue.get(a).status is Status.ANSWERED
    assert queue.get(b).status is Status.LIVE
    assert [q.id for q in queue.host_list()] == [c] and queue.get(c).rank == 0
    await queue.apply(Command(op="next"), "host")
    await queue.apply(Command(op="next"), "host")  # answers c, nothing left to go live
    assert queue.live_id() is None
    with pytest.raises(CommandError, match="host list is empty"):
        await queue.apply(Command(op="next"), "host")


async def test_reorder_keeps_ranks_contiguous(queue: QuestionQueue) -> None:
    ids = [await question_in(queue, Status.QUEUED, n) for n in range(1, 5)]
    await queue.apply(Command(op="reorder", question=ids[3], args={"rank": 0}), "mod")
    assert [q.id for q in queue.host_list()] == [ids[3], ids[0], ids[1], ids[2]]
    assert [q.rank for q in queue.host_list()] == [0, 1, 2, 3]
    await queue.apply(Command(op="reorder", question=ids[3], args={"rank": 99}), "mod")
    assert [q.id for q in queue.host_list()][-1] == ids[3]


async def test_stale_version_is_a_conflict(queue: QuestionQueue) -> None:
    qid = (await queue.submit(incoming(1))).question.id
    await queue.apply(Command(op="star", question=qid, if_version=1), "ana")
    with pytest.raises(CommandError) as err:
        await queue.apply(Command(op="approve", question=qid, if_version=1), "bo")
    assert err.value.code == "conflict"
    assert queue.get(qid).status is Status.NEW


@pytest.mark.parametrize("command", [
    Command(op="nonsense", question=1),
    Command(op="approve", question=None),
    Command(op="approve", question=999),
    Command(op="dismiss", question=1, args={"reason": "  "}),
    Command(op="merge", question=1, args={"into": 1}),
    Command(op="merge", question=1, args={"into": "2"}),
    Command(op="reorder", question=1, args={"rank": -1}),
    Command(op="tag", question=1, args={"tags": "not-a-list"}),
    Command(op="unban", args={"identity": "youtube:nobody"}),
    Command(op="add", args={"text": "   "}),
    Command(op="link", args={"identities": ["nocolon", "x:y"]}),
], ids=lambda c: f"{c.op}-{c.args}")
async def test_bad_commands_are_refused_with_a_reason(queue: QuestionQueue,
                                                      command: Command) -> None:
    await queue.submit(incoming(1))
    before = queue.all()
    with pytest.raises(CommandError) as err:
        await queue.apply(command, "mod")
    assert err.value.code in ("invalid", "not_found") and err.value.message
    assert queue.all() == before
