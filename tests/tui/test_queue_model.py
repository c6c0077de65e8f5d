"""The moderator's view indexes: the compact newest-first index behaves exactly like the general
sorted-key index it replaces for arrival-ordered views."""

from __future__ import annotations

import msgspec

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.model import Author, Question, Status
from tui.queue_model import VIEWS, NewestFirstIndex, QueueModel, ViewIndex, newest_first_key


def question(qid: int, status: Status, text: str = "q") -> Question:
    return Question(id=qid, source="zoom", external_id=f"m{qid}", author=Author(name="A", id="a"),
                    text=text, received_at="2026-11-24T00:00:00.000Z", status=status)


def is_new(q: Question) -> bool:
    return q.status is Status.NEW


STEPS = st.lists(st.tuples(st.integers(1, 40), st.sampled_from([Status.NEW, Status.QUEUED])),
                 max_size=120)


@settings(max_examples=200, deadline=None)
@given(start=STEPS, steps=STEPS, window=st.tuples(st.integers(-2, 45), st.integers(-2, 45)))
def test_newest_first_index_matches_the_general_index(start, steps, window):
    first = {qid: question(qid, status) for qid, status in start}
    general = ViewIndex(is_new, newest_first_key, first.values())
    compact = NewestFirstIndex(is_new, first.values())
    current = dict(first)
    for qid, status in steps:
        new = question(qid, status)
        assert compact.update(current.get(qid), new) == general.update(current.get(qid), new)
        current[qid] = new
    assert len(compact) == len(general)
    assert [compact.id_at(r) for r in range(len(compact))] == general.ids(0, len(general))
    assert compact.ids(*window) == general.ids(max(0, window[0]), max(0, window[1]))
    for qid in range(0, 42):
        assert (qid in compact) == (qid in general)
        assert compact.row_of(qid) == general.row_of(qid)
    haystack = {qid: "even" if qid % 2 == 0 else "odd" for qid in range(0, 42)}
    assert (compact.matching("even", haystack, is_new).ids(0, 99)
            == general.matching("even", haystack, is_new).ids(0, 99))
    for qid in range(0, 42):
        assert compact.only(qid, is_new).ids(0, 99) == general.only(qid, is_new).ids(0, 99)
        assert compact.only(qid, is_new).ids(0, 99) == ([qid] if qid in general else [])


def test_the_model_uses_the_compact_index_for_arrival_ordered_views():
    model = QueueModel()
    model.load([question(1, Status.NEW), question(2, Status.QUEUED), question(3, Status.NEW)])
    kinds = {spec.id: type(model.indexes[spec.id]) for spec in VIEWS}
    assert kinds["host"] is ViewIndex and kinds["all"] is NewestFirstIndex
    assert model.view.ids(0, 10) == [3, 1]
    model.set_likely_first(True)
    assert type(model.indexes["incoming"]) is ViewIndex
    result = model.apply([question(4, Status.NEW)])
    model.set_likely_first(False)
    assert result.created == 1 and model.view.ids(0, 10) == [4, 3, 1]


def test_a_number_search_is_that_question_alone_and_follows_changes():
    model = QueueModel()
    model.load([question(i, Status.NEW) for i in range(1, 30)])
    model.search("#2")
    assert model.view.ids(0, 99) == [2]
    model.search("  #2 ")
    assert model.view.ids(0, 99) == [2]
    model.search("#2x")  # not a number: a text search
    assert model.view.ids(0, 99) == []
    moved = question(2, Status.QUEUED)
    model.apply([msgspec.structs.replace(moved, version=moved.version + 1)])  # leaves Incoming
    model.search("#2")
    assert model.view.ids(0, 99) == []
    assert model.view_holding(2) == "host"
    assert model.view_holding(99) is None
