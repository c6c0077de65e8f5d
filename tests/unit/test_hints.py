"""Packed duplicate hints: the same JSON out as in, and any other shape left untouched."""

from __future__ import annotations

import math
import sqlite3

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.hints import SimilarHints, hint_pairs
from aggregator.model import Author, Question, encode_json
from aggregator.store import Store, decode_question
from tests.conftest import incoming, started_queue

HINTS = [{"id": 12, "score": 0.93}, {"id": 2**53 - 1, "score": 1.0}, {"id": 0, "score": 0.0}]


def question(meta: dict) -> Question:
    return Question(id=1, source="youtube", external_id="y1", author=Author(name="A", id="UCa"),
                    text="how?", received_at="2026-11-24T00:00:00.000Z", meta=meta)


def test_a_hint_list_is_packed_and_written_back_exactly():
    q = question({"similar": [dict(h) for h in HINTS], "subject": "s"})
    assert isinstance(q.meta["similar"], SimilarHints)
    assert q.meta["similar"] == HINTS and list(q.meta["similar"]) == HINTS
    assert q.meta["similar"][1] == {"id": 2**53 - 1, "score": 1.0}
    assert hint_pairs(q.meta) == [(12, 0.93), (2**53 - 1, 1.0), (0, 0.0)]
    assert msgspec.json.decode(encode_json(q))["meta"] == {"similar": HINTS, "subject": "s"}
    assert q.to_dict()["meta"]["similar"] == HINTS
    assert decode_question(encode_json(q)) == q


def test_the_caller_s_meta_is_not_changed():
    meta = {"similar": [dict(h) for h in HINTS]}
    question(meta)
    assert type(meta["similar"]) is list


def test_evolve_and_replace_keep_the_packed_form():
    q = question({"similar": [dict(h) for h in HINTS]})
    later = q.evolve(starred=True)
    assert later.meta["similar"] is q.meta["similar"]


@pytest.mark.parametrize("raw", [
    [{"id": 1, "score": 0.9251}],          # four decimals: packing would change it
    [{"id": 1, "score": 1}],               # an int score would come back as 1.0
    [{"id": True, "score": 0.5}],          # bool is not an id
    [{"id": -1, "score": 0.5}],
    [{"id": 2**64, "score": 0.5}],
    [{"id": 1, "score": 1.5}],
    [{"id": 1, "score": 0.5, "extra": "x"}],
    [{"id": "1", "score": 0.5}],
    ["[/]"],
    [],
    [{"id": 1, "score": 0.5}] * 51,
    "[@click=app.quit]x[/]",
    {"id": 1},
])
def test_any_other_shape_is_kept_as_it_came(raw):
    q = question({"similar": raw})
    assert q.meta["similar"] is raw or q.meta["similar"] == raw
    assert not isinstance(q.meta["similar"], SimilarHints)
    assert msgspec.json.decode(encode_json(q))["meta"]["similar"] == raw


def test_a_nan_score_is_not_packed():
    assert SimilarHints.from_json([{"id": 1, "score": math.nan}]) is None


@pytest.mark.parametrize("raw, pairs", [
    ([{"id": 3, "score": 1}], [(3, 1.0)]),
    ([{"id": 3}], [(3, 0.0)]),
    ([{"id": True, "score": 0.5}, {"id": 4, "score": False}], [(4, 0.0)]),
    (["[/]", None, {"id": "7"}], []),
    ("nope", []),
])
def test_hint_pairs_reads_unpacked_lists_defensively(raw, pairs):
    assert hint_pairs({"similar": raw}) == pairs


@given(st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 1000)), min_size=1,
                max_size=50))
def test_every_list_the_queue_can_write_round_trips(items):
    raw = [{"id": qid, "score": round(thousandths / 1000, 3)} for qid, thousandths in items]
    packed = SimilarHints.from_json(raw)
    assert packed is not None and packed.to_json() == raw
    assert msgspec.json.encode(raw) == encode_json(packed)


async def test_the_store_holds_the_documented_json_and_gives_back_packed_hints(db_path):
    async with started_queue(db_path) as queue:
        first = (await queue.submit(incoming(1, "Will the recording be published?"))).question
        again = (await queue.submit(incoming(2, "will the recording be published"))).question
    with sqlite3.connect(db_path) as conn:
        (data,) = conn.execute("SELECT data FROM questions WHERE id = ?", (again.id,)).fetchone()
    assert msgspec.json.decode(data)["meta"]["similar"] == [{"id": first.id, "score": 1.0}]
    store = Store(db_path).open()
    try:
        (loaded,) = [q for q in store.load_questions() if q.id == again.id]
    finally:
        store.close()
    assert isinstance(loaded.meta["similar"], SimilarHints)
    assert loaded.meta == again.meta
