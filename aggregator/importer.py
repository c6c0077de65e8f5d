"""`townhall import FILE.json`: load a JSON export back into an empty store.

The file is outside input, so it is checked before anything is written: every entry must be a valid
`Question` (the export writes every field under its name in model.py), timestamps must be ISO-8601,
ids and (source, external_id) must be unique, a merged question must point at one in the file, at
most one may be live. Every problem is reported with the entry's position and id, all at once (up to
`MAX_REPORTED`). User-visible text is cleaned again as at ingestion (`clean_text` and `clean_line`
are idempotent, so an export made by Townhall comes back unchanged).

The history of each question becomes rows of the `changes` table, so the question's history,
the answer order of the notes page and a second export are what they were: export -> import ->
export gives the same JSON apart from `exported_at`. The rows get fresh global `seq` numbers in
time order (each question's own order kept); they carry the imported state as `after` and no
command, so `undo` cannot reach back into an imported meeting. Everything is written in one
transaction: an import is complete or absent.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from .collectors.email_parse import MAX_RAW_BODY
from .commands import MAX_NOTE
from .model import Asker, Author, HistoryEntry, Question, Status, parse_iso, to_iso
from .sanitize import MAX_TEXT, clean_line, clean_text
from .store import ChangeRow, Store, Write, decode_question

MAX_REPORTED = 20
WRITE_PART = 5_000  # questions or history rows encoded at a time
MAX_ID = 2**53 - 1


class ImportFailed(Exception):
    """The file cannot be imported; the message lists what is wrong and where."""


class _Document(msgspec.Struct):
    questions: list[msgspec.Raw]
    meeting: dict[str, Any] = {}
    exported_at: str | None = None


_decode_any = msgspec.json.Decoder().decode


class _MeetingOnly(msgspec.Struct):
    meeting: dict[str, Any] = {}


def meeting_facts(data: bytes) -> dict[str, str]:
    """The meeting's end and the recording's start as the export recorded them, so the
    imported meeting's notes link to the same seconds (anything unusable is left out)."""
    try:
        meeting = msgspec.json.decode(data, type=_MeetingOnly).meeting
    except (msgspec.DecodeError, RecursionError):
        return {}
    facts: dict[str, str] = {}
    for key in ("ended_at", "recording_started_at"):
        value = meeting.get(key)
        if isinstance(value, str) and len(value) <= 40:
            try:
                facts[key] = to_iso(parse_iso(value))
            except ValueError:
                continue
    return facts


def _clean_value(value: Any, limit: int = MAX_TEXT) -> Any:
    """Strings anywhere inside a history entry's detail or a question's meta, cleaned like
    ingested text (meta["subject"] and meta["raw_body"] reach the TUI's detail pane as-is)."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, list):
        return [_clean_value(v, limit) for v in value]
    if isinstance(value, dict):
        return {clean_line(k): _clean_value(v, limit) for k, v in value.items()}
    return value


def _optional(value: str | None, clean: Callable[[str], str]) -> str | None:
    return (clean(value) or None) if value is not None else None


def clean_question(q: Question) -> Question:
    """The same cleaning the queue applies at ingestion, on every user-visible field."""
    author = Author(name=clean_line(q.author.name) or "(no name)",
                    id=clean_line(q.author.id, 320) or "(unknown)",
                    email=_optional(q.author.email, lambda v: clean_line(v, 320)),
                    url=_optional(q.author.url, lambda v: clean_line(v, 500)))
    askers = tuple(
        Asker(source=clean_line(a.source, 40), name=clean_line(a.name) or "(no name)",
              id=clean_line(a.id, 320) or "(unknown)",
              email=_optional(a.email, lambda v: clean_line(v, 320)), question=a.question)
        for a in q.askers)
    history = tuple(
        HistoryEntry(at=h.at, actor=clean_line(h.actor, 100), action=clean_line(h.action, 40),
                     detail=_clean_value(h.detail))
        for h in q.history)
    return msgspec.structs.replace(
        q, source=clean_line(q.source, 40), external_id=clean_line(q.external_id, 500),
        author=author, text=clean_text(q.text), askers=askers, history=history,
        edited_text=_optional(q.edited_text, clean_text),
        dismiss_reason=_optional(q.dismiss_reason, lambda v: clean_line(v, 200)),
        tags=tuple(t for t in (clean_line(t, 40) for t in q.tags) if t),
        assignee=_optional(q.assignee, lambda v: clean_line(v, 100)),
        note=_optional(q.note, lambda v: clean_text(v, MAX_NOTE)),
        flags=tuple(f for f in (clean_line(f, 40) for f in q.flags) if f),
        meta=_clean_value(q.meta, MAX_RAW_BODY),
    )


def _timestamp_problems(q: Question) -> Iterator[str]:
    stamps = [("received_at", q.received_at), ("sent_at", q.sent_at)]
    stamps += [(f"history[{i}].at", h.at) for i, h in enumerate(q.history)]
    for name, value in stamps:
        if value is None:
            continue
        try:
            moment = parse_iso(value)
        except ValueError:
            yield f"{name} {value!r} is not an ISO-8601 time such as 2022-11-10T14:05:00.000Z"
            continue
        if moment.tzinfo is None:
            yield f"{name} {value!r} has no time zone (write it in UTC with a Z)"


def _entry_problems(q: Question) -> Iterator[str]:
    if q.id < 1:
        yield "id must be 1 or more"
    elif q.id > MAX_ID:
        # SQLite holds 64-bit ids and the queue numbers new questions from the largest + 1;
        # the browser pages read ids as JavaScript numbers (exact up to 2**53 - 1).
        yield f"id must be {MAX_ID} or less"
    if not q.source or not q.external_id:
        yield "source and external_id must not be empty"
    if not q.text:
        yield "text is empty"
    if q.version < 1:
        yield "version must be 1 or more"
    if not 0.0 <= q.likely_question <= 1.0:
        yield "likely_question must be between 0 and 1"
    if q.status is Status.MERGED and q.merged_into is None:
        yield "status is merged but merged_into is missing"
    if q.status is Status.DISMISSED and not q.dismiss_reason:
        yield "status is dismissed but dismiss_reason is missing"
    yield from _timestamp_problems(q)


def _label(index: int, raw: bytes | None = None, q: Question | None = None) -> str:
    ident = q.id if q is not None else None
    if ident is None and raw is not None:
        try:
            value = _decode_any(raw)
            ident = value.get("id") if isinstance(value, dict) else None
        except (msgspec.DecodeError, RecursionError):
            pass
    return f"questions[{index}]" + (f" (id {ident!r})" if ident is not None else "")


def parse_export(data: bytes, source: str = "the file") -> list[Question]:
    """The questions of a JSON export, checked and cleaned, or ImportFailed listing every
    problem."""
    try:
        document = msgspec.json.decode(data, type=_Document)
    except msgspec.ValidationError as exc:
        raise ImportFailed(f"{source} is not a Townhall JSON export: {exc} (expected "
                           '{"meeting": {...}, "exported_at": "...", "questions": [...]}, '
                           "as written by `townhall export --format json`)") from None
    except msgspec.DecodeError as exc:
        raise ImportFailed(f"{source} is not valid JSON: {exc}") from None
    except RecursionError:  # msgspec's answer to deep nesting, inside any Any-typed field
        raise ImportFailed(f"{source} is nested too deeply to be a Townhall export") from None
    problems: list[str] = []
    questions: list[Question] = []
    for index, raw in enumerate(document.questions):
        try:
            q = decode_question(raw)
        except msgspec.ValidationError as exc:
            problems.append(f"{_label(index, raw)}: {exc}")
            continue
        except RecursionError:
            problems.append(f"questions[{index}]: nested too deeply")
            continue
        q = clean_question(q)
        problems += [f"{_label(index, q=q)}: {p}" for p in _entry_problems(q)]
        questions.append(q)
    problems += _set_problems(questions)
    if problems:
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        listing = "\n".join(f"  - {p}" for p in shown)
        if more:
            listing += f"\n  ... and {more} more"
        raise ImportFailed(f"{source} has {len(problems)} problem"
                           f"{'s' if len(problems) != 1 else ''}; nothing was imported:\n"
                           f"{listing}")
    return questions


def _set_problems(questions: list[Question]) -> Iterator[str]:
    ids = Counter(q.id for q in questions)
    yield from (f"id {qid} is used by {n} questions" for qid, n in sorted(ids.items()) if n > 1)
    keys = Counter((q.source, q.external_id) for q in questions)
    yield from (f"source {s!r} external_id {e!r} is used by {n} questions"
                for (s, e), n in keys.items() if n > 1)
    for q in questions:
        if q.merged_into is not None and q.merged_into not in ids:
            yield f"#{q.id} is merged into #{q.merged_into}, which is not in the file"
    live = [q.id for q in questions if q.status is Status.LIVE]
    if len(live) > 1:
        yield f"only one question can be live; {', '.join(f'#{i}' for i in live)} are"


def change_rows(questions: list[Question], stripped: list[Question]) -> list[ChangeRow]:
    """Each history entry as a `changes` row, numbered in time order across questions (each
    row's question is its copy in `stripped`, without the history)."""
    by_id = {q.id: q for q in stripped}
    streams = [[(parse_iso(h.at), q.id, h) for h in q.history] for q in questions]
    merged = heapq.merge(*streams, key=lambda item: (item[0], item[1]))
    return [
        ChangeRow(seq=seq, question_id=qid, at=h.at, actor=h.actor, action=h.action,
                  after=by_id[qid], detail=dict(h.detail))
        for seq, (_, qid, h) in enumerate(merged, start=1)
    ]


def import_file(store: Store, path: str | Path,
                progress: Callable[[str], None] = lambda _msg: None) -> str:
    """Load a JSON export into `store`, which must be empty; returns a one-line summary."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    progress(f"checking {path} ({len(data) / 1e6:.1f} MB)")
    questions = parse_export(data, str(path))
    if store.max_seq() or store.load_questions():
        raise ImportFailed(
            f"{store.path} already holds questions; import only into an empty store "
            "(set another [store] path in the config, or move the database away)")
    stripped = [msgspec.structs.replace(q, history=()) for q in questions]
    rows = change_rows(questions, stripped)
    progress(f"writing {len(questions)} questions and {len(rows)} history entries")
    facts = Write(meeting=meeting_facts(data))
    store.write_now(itertools.chain(_in_parts(stripped, rows), [facts]))
    return (f"imported {len(questions)} question{'s' if len(questions) != 1 else ''} "
            f"with {len(rows)} history entries into {store.path}")


def _in_parts(stripped: list[Question], rows: list[ChangeRow]) -> Iterator[Write]:
    """The import as parts of one transaction: the encoded JSON of 100,000 questions and their
    ~400,000 history rows (each row holds its question) took ~300 MB when built at once."""
    for start in range(0, len(stripped), WRITE_PART):
        yield Write(created=stripped[start:start + WRITE_PART])
    for start in range(0, len(rows), WRITE_PART):
        yield Write(changes=rows[start:start + WRITE_PART])
