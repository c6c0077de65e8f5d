"""The two read options the exports added to the store: questions by status, history by action."""

from __future__ import annotations

from aggregator.commands import Command
from aggregator.queue import QuestionQueue
from tests.conftest import incoming


async def test_load_questions_by_status_and_history_by_action(queue: QuestionQueue) -> None:
    for n in range(1, 4):
        await queue.submit(incoming(n, author=f"A{n}"))
    await queue.apply(Command(op="approve", question=2), "mod")
    await queue.apply(Command(op="dismiss", question=3, args={"reason": "spam"}), "mod")
    store = queue.store
    assert [q.id for q in store.load_questions()] == [1, 2, 3]
    assert [q.id for q in store.load_questions(["queued", "dismissed"])] == [2, 3]
    assert store.load_questions([]) == []
    only = store.all_history(actions=["dismiss"])
    assert list(only) == [3] and [h.action for h in only[3]] == ["dismiss"]
    assert [h.action for h in store.all_history()[2]] == ["received", "approve"]
