"""Duplicate hints: paraphrases and repeats across channels, stored in each question's `similar`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aggregator.commands import Command
from aggregator.model import Author, Hint, Question, Status
from aggregator.queue import QuestionQueue
from aggregator.store import Store
from aggregator.triage import DuplicateIndex, similarity_key
from tests.conftest import incoming, started_queue

PARAPHRASES = [
    ("How will the new funding strategy affect small affiliates?",
     "What does the new funding strategy mean for small affiliates?"),
    ("Will the slides be shared after the call?", "will slides be shared afterwards??"),
    ("Is this being recorded?", "Will this call be recorded"),
    ("When is the next board election?", "when will the next board elections happen?"),
    ("How do I report harassment on my wiki?",
     "What's the process to report harassment on a wiki"),
    ("Can you talk about the translation tools roadmap?", "what's the roadmap for translation tools?"),
]
DIFFERENT = [
    "When is the next board election?",
    "How do I report harassment on my wiki?",
    "Is the Android app getting offline reading?",
    "Who approves the budget of regional hubs?",
]


def question(qid: int, text: str, status: Status = Status.NEW) -> Question:
    return Question(id=qid, source="youtube", external_id=f"m{qid}", text=text, status=status,
                    author=Author(name="A", id="a"), received_at="2024-01-01T00:00:00.000Z")


def test_each_paraphrase_finds_its_original_first() -> None:
    index = DuplicateIndex()
    for qid, (original, _) in enumerate(PARAPHRASES, 1):
        index.track(question(qid, original))
    for qid, (_, paraphrase) in enumerate(PARAPHRASES, 1):
        hints = index.hints(paraphrase)
        assert hints and hints[0].id == qid, (paraphrase, hints)
        assert 0.72 <= hints[0].score <= 1.0


def test_different_questions_get_no_hint() -> None:
    index = DuplicateIndex()
    for qid, text in enumerate(DIFFERENT, 1):
        index.track(question(qid, text))
    assert index.hints("How will the new funding strategy affect small affiliates?") == ()
    assert index.hints("thanks!") == ()
    assert index.hints("") == ()


def test_hints_are_best_first_capped_and_older_first_on_ties() -> None:
    index = DuplicateIndex(limit=3)
    for qid in (7, 3, 5, 9):
        index.track(question(qid, "Will the slides be shared?"))
    index.track(question(11, "Will the slides be shared later with everyone?"))
    hints = index.hints("will the slides be shared")
    assert [h.id for h in hints] == [3, 5, 7]
    assert all(isinstance(h.id, int) and isinstance(h.score, float) for h in hints)
    assert index.hints("will the slides be shared", exclude=3)[0].id == 5


def test_only_open_questions_are_offered_and_edits_are_followed() -> None:
    index = DuplicateIndex()
    index.track(question(1, "Will the slides be shared?"))
    index.track(question(1, "Will the slides be shared?", Status.ANSWERED))
    assert 1 not in index and index.hints("will the slides be shared") == ()
    index.track(question(2, "Will the slides be shared?", Status.FOLLOW_UP))
    assert index.hints("will the slides be shared")[0].id == 2
    edited = question(2, "Will the slides be shared?")
    index.track(Question(**{**{f: getattr(edited, f) for f in edited.__struct_fields__},
                            "edited_text": "When does the board election start?"}))
    assert index.hints("will the slides be shared") == ()
    assert index.hints("when does the board election start")[0].id == 2


def test_the_key_ignores_case_accents_order_and_filler() -> None:
    assert similarity_key("¿Cuándo es la ELECCIÓN?") == similarity_key("eleccion cuando")
    assert similarity_key("What is the plan?") == similarity_key("the PLAN, what is it")


async def test_repeats_across_channels_are_hinted_at_ingestion(queue: QuestionQueue) -> None:
    first = (await queue.submit(incoming(1, "Will the recording be published on Commons?",
                                         source="youtube"))).question
    assert "similar" not in first.meta
    repeat = (await queue.submit(incoming(2, "will the recording be published on commons",
                                          source="email", author="Bo"))).question
    paraphrase = (await queue.submit(incoming(3, "Is the recording going to be published on "
                                              "Commons?", source="zoom", author="Cy"))).question
    assert repeat.similar[0] == Hint(first.id, 1.0)
    assert [h.id for h in paraphrase.similar] == [first.id, repeat.id]
    other = (await queue.submit(incoming(4, "Who approves the hubs budget?"))).question
    assert "similar" not in other.meta


async def test_hints_leave_with_the_status_and_the_index_rebuilds_on_start(
        db_path: Path) -> None:
    async with started_queue(db_path) as queue:
        first = (await queue.submit(incoming(1, "Will the recording be published?"))).question
        gone = (await queue.submit(incoming(2, "Who approves the hubs budget?"))).question
        await queue.apply(Command(op="dismiss", question=gone.id, args={"reason": "spam"}),
                          "mod")
        hinted = (await queue.submit(incoming(3, "who approves the budget of the hubs?"))
                  ).question
        assert "similar" not in hinted.meta  # the dismissed one is not offered
        await queue.apply(Command(op="merge", question=hinted.id, args={"into": first.id}),
                          "mod")
        assert hinted.id not in queue.similar
    async with started_queue(db_path) as queue:
        assert first.id in queue.similar and gone.id not in queue.similar
        again = (await queue.submit(incoming(4, "will the recording be published"))).question
        assert again.similar[0].id == first.id
        stored = queue.get(again.id)
        assert stored is not None and stored.meta == again.meta


async def test_a_large_store_fills_the_hint_index_in_the_background(tmp_path) -> None:
    from aggregator import queue as queue_module
    from aggregator.model import Incoming

    path = tmp_path / "big.db"
    async with started_queue(path) as q:
        await q.submit_batch([Incoming(source="email", external_id=f"e{n}",
                                       author=Author(name="A", id=f"a{n}@x.org"),
                                       text=f"Topic {n}: will the grants programme fund "
                                            f"sprint {n}?") for n in range(40)])
    original = queue_module.SIMILAR_SYNC_LIMIT
    queue_module.SIMILAR_SYNC_LIMIT = 10  # make this small store "large"
    try:
        store = Store(path).open()
        q = QuestionQueue(store)
        q.similar_fill_delay = 0.05
        await q.start()
        assert len(q.similar) < 40  # start() returned before indexing everything
        while q._similar_fill is not None:  # noqa: SLF001
            await asyncio.sleep(0)
        assert len(q.similar) == 40
        new = (await q.submit(Incoming(source="youtube", external_id="y1",
                                       author=Author(name="B", id="UCb"),
                                       text="Topic 3: will the grants programme fund sprint 3?"
                                       ))).question
        assert new.similar[0].id == 4  # e3 is question #4
        await q.close()  # writes what is still in its inbox first
        store.close()
    finally:
        queue_module.SIMILAR_SYNC_LIMIT = original
