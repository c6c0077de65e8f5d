"""`aggregator.importer`: the checks on an import file, and a store that keeps working after."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aggregator.commands import Command
from aggregator.importer import ImportFailed, import_file, parse_export
from aggregator.model import Status
from aggregator.queue import QuestionQueue
from aggregator.store import Store


def entry(qid: int, **fields: Any) -> dict[str, Any]:
    base = {"id": qid, "source": "youtube", "external_id": f"m{qid}", "text": "Why?",
            "author": {"name": "Ana", "id": "UC1"}, "received_at": "2022-11-10T14:00:00.000Z",
            "history": [{"at": "2022-11-10T14:00:00.000Z", "actor": "youtube",
                         "action": "received", "detail": {}}]}
    base.update(fields)
    return base


def document(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"meeting": {}, "exported_at": "x", "questions": list(entries)}).encode()


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "is not valid JSON"),
    (b"[1, 2]", "is not a Townhall JSON export"),
    (b'{"questions": 3}', "is not a Townhall JSON export"),
])
def test_not_an_export(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed, match=message):
        parse_export(data)


@pytest.mark.parametrize(("entries", "message"), [
    ([entry(1), entry(1, external_id="other")], "id 1 is used by 2 questions"),
    ([entry(1), entry(2, external_id="m1")], "external_id 'm1' is used by 2 questions"),
    ([entry(1, status="merged", merged_into=9)], "merged into #9, which is not in the file"),
    ([entry(1, status="merged")], "merged_into is missing"),
    ([entry(1, status="live"), entry(2, status="live")], "#1, #2 are"),
    ([entry(1, status="dismissed")], "dismiss_reason is missing"),
    ([entry(1, status="sleeping")], "questions[0] (id 1): Invalid enum value 'sleeping'"),
    ([entry(1, received_at="2022-11-10T14:00:00")], "has no time zone"),
    ([entry(1, history=[{"at": "soon", "actor": "a", "action": "b"}])],
     "history[0].at 'soon' is not an ISO-8601 time"),
    ([entry(1, likely_question=3)], "likely_question must be between 0 and 1"),
    ([entry(0)], "id must be 1 or more"),
    ([entry(1, text="\x1b\x07 \u200b")], "text is empty"),
    ([{"id": 4}], "questions[0] (id 4): Object missing required field"),
])
def test_a_bad_entry_is_named(entries: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_export(document(*entries), "f.json")
    assert message in str(failure.value)
    assert "nothing was imported" in str(failure.value)


def test_many_problems_are_listed_up_to_a_limit() -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_export(document(*[entry(i, likely_question=5) for i in range(1, 31)]))
    text = str(failure.value)
    assert "30 problems" in text and "... and 10 more" in text
    assert text.count("likely_question") == 20


def test_hostile_text_is_cleaned_like_ingested_text() -> None:
    [q] = parse_export(document(entry(
        1, text="ok\x1b]0;title\x07 \u202eevil", author={"name": "A\x1b[31m\nB", "id": "U"},
        note="n\x00ote", tags=["t\x9b", ""],
        history=[{"at": "2022-11-10T14:00:00Z", "actor": "x\x1b", "action": "edit",
                  "detail": {"text": "a\x1bb", "list": ["c\x07"]}}])))
    assert q.text == "ok]0;title evil"
    assert q.author.name == "A[31m B"
    assert q.note == "note" and q.tags == ("t",)
    assert q.history[0].actor == "x"
    assert q.history[0].detail == {"text": "ab", "list": ["c"]}


async def test_the_queue_carries_on_after_an_import(tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(document(
        entry(1, status="queued", rank=0),
        entry(2, history=[{"at": "2022-11-10T13:00:00.000Z", "actor": "email",
                           "action": "received", "detail": {}}]),
    ))
    store = Store(tmp_path / "t.db").open()
    try:
        assert "imported 2 questions with 2 history entries" in import_file(store, source)
        # seq follows time order across questions: #2 was received first
        assert [q.id for _, q in store.changes_since(0)] == [2, 1]
        queue = QuestionQueue(store)
        await queue.start()
        [changed] = await queue.apply(Command(op="go_live", question=1), "Maggie")
        assert changed.status is Status.LIVE and queue.seq == 3
        assert [h.action for h in queue.history(1)] == ["received", "go_live"]
        with pytest.raises(Exception, match="nothing to undo"):
            await queue.apply(Command(op="undo"), "youtube")
        await queue.flush()
    finally:
        store.close()


def test_an_unreadable_file(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as store, pytest.raises(ImportFailed, match="cannot read"):
        import_file(store, tmp_path / "missing.json")


@pytest.mark.parametrize("qid", [2**63, 2**63 - 1, 2**70])
def test_an_id_too_large_for_the_store_is_refused_before_writing(tmp_path: Path,
                                                                 qid: int) -> None:
    # 2**63 overflowed SQLite's INTEGER inside write_now (a traceback); 2**63 - 1 imported,
    # and then every new question's id (max + 1) failed to insert: no collector could store.
    path = tmp_path / "big.json"
    path.write_bytes(document(entry(qid)))
    store = Store(tmp_path / "t.db").open()
    try:
        with pytest.raises(ImportFailed, match="or less"):
            import_file(store, path)
        assert store.load_questions() == []
    finally:
        store.close()


def test_meta_strings_are_cleaned_like_ingested_text() -> None:
    # meta["raw_body"] and meta["subject"] are shown as-is in the TUI's detail pane.
    hostile = "a\x1b]0;title\x07b\x1b[2Jc\u202eevil"
    q = parse_export(document(entry(1, meta={"subject": hostile, "raw_body": hostile,
                                             "attachments": [hostile], "k\x1b[2J": 3})))[0]
    assert q.meta["subject"] == q.meta["raw_body"] == "a]0;titleb[2Jcevil"
    assert q.meta["attachments"] == ["a]0;titleb[2Jcevil"]
    assert q.meta["k[2J"] == 3


DEEP = "[" * 5_000 + "]" * 5_000  # msgspec raises RecursionError, not DecodeError, on this


@pytest.mark.parametrize("doc", [
    '{"questions": [' + DEEP + "]}",
    '{"meeting": {"a": ' + DEEP + '}, "questions": []}',
    '{"questions": [{"id": 1, "source": "youtube", "external_id": "m1", "text": "Why?",'
    ' "author": {"name": "Ana", "id": "UC1"}, "received_at": "2022-11-10T14:00:00.000Z",'
    ' "meta": {"x": ' + DEEP + "}}]}",
    '{"questions": [{"id": "one", "meta": {"x": ' + DEEP + "}}]}",
], ids=["question", "meeting", "meta", "bad-id-and-meta"])
def test_deeply_nested_json_is_an_import_problem_not_a_traceback(doc: str) -> None:
    with pytest.raises(ImportFailed, match="nested too deeply"):
        parse_export(doc.encode())


def test_an_import_written_in_parts_is_still_one_transaction(tmp_path: Path) -> None:
    """A part that fails (here: a second question with the same source message id) rolls back
    the parts written before it: the store stays empty."""
    import sqlite3

    from aggregator.importer import WRITE_PART
    from aggregator.model import Author, Question
    from aggregator.store import Write

    def question(qid: int, external_id: str) -> Question:
        return Question(id=qid, source="zoom", external_id=external_id,
                        author=Author(name="A", id="a"), text="q?",
                        received_at="2026-11-24T00:00:00.000Z")

    first = [question(i, f"m{i}") for i in range(1, WRITE_PART + 1)]
    store = Store(tmp_path / "t.db").open()
    try:
        with pytest.raises(sqlite3.IntegrityError):
            store.write_now(iter([Write(created=first),
                                  Write(created=[question(WRITE_PART + 1, "m1")])]))
        assert store.load_questions() == []
    finally:
        store.close()
