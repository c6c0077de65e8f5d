"""Duplicate hints as a typed field: stored and sent as such, exported where exports always had
them (`meta["similar"]`), and read back from exports and older stores."""

from __future__ import annotations

import sqlite3

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from aggregator.model import Author, Hint, Question, encode_json, lift_similar
from aggregator.store import Store, decode_question
from tests.conftest import incoming, started_queue

HINTS = (Hint(12, 0.93), Hint(2**53 - 1, 1.0), Hint(0, 0.0))
AS_JSON = [{"id": 12, "score": 0.93}, {"id": 2**53 - 1, "score": 1.0}, {"id": 0, "score": 0.0}]


def question(**fields: object) -> Question:
    return Question(id=1, source="youtube", external_id="y1", author=Author(name="A", id="UCa"),
                    text="how?", received_at="2026-11-24T00:00:00.000Z", **fields)  # type: ignore[arg-type]


def test_the_export_shape_keeps_hints_under_meta():
    q = question(similar=HINTS, meta={"subject": "s"})
    exported = msgspec.to_builtins(q.exported())
    assert "similar" not in exported
    assert exported["meta"] == {"subject": "s", "similar": AS_JSON}
    assert msgspec.to_builtins(question(meta={"subject": "s"}).exported())["meta"] == {
        "subject": "s"}


def test_an_export_read_back_gives_the_typed_hints():
    q = question(similar=HINTS, meta={"subject": "s"})
    again = decode_question(encode_json(q.exported()))
    assert again == q


@given(st.lists(st.one_of(
    st.fixed_dictionaries({"id": st.integers(0, 2**63 - 1), "score": st.floats(0, 1)}),
    st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=3),
    st.integers(), st.text(max_size=5), st.none()), max_size=8))
def test_foreign_hint_lists_are_read_defensively(raw):
    lifted = lift_similar(question(meta={"similar": raw, "x": 1}))
    assert lifted.meta == {"x": 1}
    wanted = [Hint(item["id"], item["score"]) for item in raw
              if isinstance(item, dict) and set(item) == {"id", "score"}
              and type(item["id"]) is int and not isinstance(item["score"], (bool, str))
              and 0 <= item["score"] <= 1]
    assert list(lifted.similar) == wanted


async def test_the_store_holds_typed_hints_and_lifts_those_of_older_rows(db_path):
    async with started_queue(db_path) as queue:
        first = (await queue.submit(incoming(1, "Will the recording be published?"))).question
        again = (await queue.submit(incoming(2, "will the recording be published"))).question
    assert again.similar == (Hint(first.id, 1.0),)
    with sqlite3.connect(db_path) as conn:
        (data,) = conn.execute("SELECT data FROM questions WHERE id = ?", (again.id,)).fetchone()
        assert msgspec.json.decode(data)["similar"] == [{"id": first.id, "score": 1.0}]
        # a row as an older Townhall wrote it: hints inside meta
        old = msgspec.json.decode(data)
        old["meta"] = {"similar": old.pop("similar")}
        conn.execute("UPDATE questions SET data = ? WHERE id = ?",
                     (encode_json(old).decode(), again.id))
    store = Store(db_path).open()
    try:
        (loaded,) = [q for q in store.load_questions() if q.id == again.id]
    finally:
        store.close()
    assert loaded.similar == (Hint(first.id, 1.0),) and loaded.meta == {}
