"""Exports of a meeting's questions: the entry points.

JSON, CSV and the follow-up list are for the moderation team and hold everything; the
Markdown and wikitext notes and the YouTube chapters are public and follow aggregator/privacy.py
(export_formats/notes.py, export_formats/chapters.py).

`render()` turns the store into one format's bytes, `export_to_file()` writes a file and returns
a short summary (the CLI prints it; the TUI's ctrl+e dialog shows it). The formats themselves
live in `aggregator/export_formats/`; this module selects the questions, reads from the history
what the formats need, and builds the summary.

Every export reads a `Store` opened without the lock (`exclusive=False`), so it runs while the
server does; it reads one consistent snapshot of the questions.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from .config import Config, MeetingConfig
from .export_formats import timeline
from .export_formats.chapters import ChaptersError, chapters
from .export_formats.csv_export import to_csv
from .export_formats.followup import followup_list
from .export_formats.notes import GROUPINGS, MARKDOWN, WIKITEXT, notes_page
from .export_formats.recording import Recording, find_recording
from .model import HistoryEntry, Question, Status, encode_json, to_iso, utc_now
from .store import Store

FORMATS = ("json", "csv", "markdown", "wikitext", "followup", "chapters")
#: the file name extension each format is usually saved with (the TUI's default file name)
EXTENSIONS = {"json": "json", "csv": "csv", "markdown": "md", "wikitext": "wiki",
              "followup": "md", "chapters": "txt"}


class ExportError(ValueError):
    """An export that cannot be done as asked (unknown format or status)."""


@dataclass
class ExportData:
    """What every renderer gets: the selected questions and the facts taken from the history."""

    meeting: MeetingConfig
    questions: list[Question]
    #: question id -> when it was answered (answered questions only)
    answered_at: dict[int, str] = field(default_factory=dict)
    include_askers: bool = False
    #: question id -> when it last went live (questions that ever did)
    went_live_at: dict[int, str] = field(default_factory=dict)
    recording: Recording = field(default_factory=Recording)
    #: the meeting's own facts (store.meeting()), e.g. ended_at
    facts: dict[str, str] = field(default_factory=dict)
    group_by: str | None = None  # None, or "topic" (notes pages)


def _selected(store: Store, statuses: Iterable[str] | None) -> list[Question]:
    wanted = parse_statuses(statuses)
    return store.load_questions(sorted(wanted) if wanted is not None else None)


def parse_statuses(statuses: Iterable[str] | None) -> set[Status] | None:
    if not statuses:
        return None
    wanted: set[Status] = set()
    for name in statuses:
        try:
            wanted.add(Status(name))
        except ValueError:
            known = ", ".join(s.value for s in Status)
            raise ExportError(f"unknown status {name!r}; use one of {known}") from None
    return wanted


def meeting_info(config: Config, data: ExportData | None = None) -> dict[str, Any]:
    m = config.meeting
    info: dict[str, Any] = {"title": m.title, "starts_at": m.starts_at, "host": m.host,
                            "duration_minutes": m.duration_minutes,
                            "answerers": list(m.answerers)}
    if data is not None:
        start = data.recording.start
        info.update({"ended_at": data.facts.get("ended_at"),
                     "recording_url": data.recording.url,
                     "recording_started_at": to_iso(start) if start else None})
    return info


#: questions formatted per chunk of the JSON export: large enough that per-call overhead
#: (encode, format, write) vanishes, small enough that a chunk stays a few megabytes
JSON_BATCH = 1_000


def _json_chunks(config: Config, questions: list[Question],
                 history: dict[int, list[HistoryEntry]],
                 data: ExportData | None = None) -> Iterator[bytes]:
    """The JSON document, a batch of questions at a time (the whole document of 100,000
    questions would be held three times over: structs, compact and indented). The bytes are
    exactly `msgspec.json.format(document, indent=2)`: each batch is formatted as a list, then
    shifted to the depth of the "questions" array and stripped of its brackets."""
    head = {"meeting": meeting_info(config, data), "exported_at": utc_now(), "questions": []}
    opening = msgspec.json.format(encode_json(head), indent=2)
    if not questions:
        yield opening + b"\n"
        return
    yield opening[: opening.rindex(b"[]")] + b"[\n"
    for start in range(0, len(questions), JSON_BATCH):
        batch = [msgspec.structs.replace(q, history=tuple(history.get(q.id, ()))).exported()
                 for q in questions[start:start + JSON_BATCH]]
        text = msgspec.json.format(encode_json(batch), indent=2).replace(b"\n", b"\n  ")
        # b"[\n    {...},\n    {...}\n  ]" -> the elements, already at depth 2
        last = start + JSON_BATCH >= len(questions)
        yield text[2:-4] + (b"\n" if last else b",\n")
    yield b"  ]\n}\n"


def _needs_history(questions: list[Question]) -> bool:
    """An answered question without its own times (stored before they were fields, or
    imported as answered) takes them from the history."""
    return any(q.status is Status.ANSWERED and (q.answered_at is None or q.went_live_at is None)
               for q in questions)


def _data(store: Store, config: Config, questions: list[Question],
          history: dict[int, list[HistoryEntry]], **options: Any) -> ExportData:
    went_live = timeline.went_live_at(questions, history)
    facts = store.meeting()
    m = config.meeting
    recording = find_recording(m.recording_url, config.youtube.video, m.recording_started_at,
                               facts, went_live.values())
    return ExportData(meeting=m, questions=questions,
                      answered_at=timeline.answered_at(questions, history),
                      went_live_at=went_live, recording=recording, facts=facts, **options)


def load(store: Store, config: Config, statuses: Iterable[str] | None = None,
         include_askers: bool = False, group_by: str | None = None) -> ExportData:
    """The selected questions, their times and the recording, read from `store`."""
    if group_by not in GROUPINGS:
        raise ExportError(f"unknown grouping {group_by!r}; use one of "
                          f"{', '.join(g for g in GROUPINGS if g)}")
    questions = _selected(store, statuses)
    history: dict[int, list[HistoryEntry]] = {}
    if _needs_history(questions):
        history = store.all_history(actions=timeline.ANSWER_ACTIONS,
                                    detail_only=timeline.DETAIL_ONLY_ACTIONS)
    return _data(store, config, questions, history, group_by=group_by,
                 include_askers=include_askers or config.export.include_askers)


def render_chunks(store: Store, config: Config, fmt: str, *,
                  statuses: Iterable[str] | None = None, include_askers: bool = False,
                  group_by: str | None = None) -> tuple[Iterator[bytes], ExportData]:
    """One format's UTF-8 bytes, in chunks to write out, and the data behind them.
    ExportError for an export that cannot be made (e.g. too few chapters for YouTube)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "json":
        questions = _selected(store, statuses)
        history = store.all_history()
        data = _data(store, config, questions, history)
        return _json_chunks(config, questions, history, data), data
    data = load(store, config, statuses, include_askers, group_by)
    try:
        text = _RENDERERS[fmt](data)
    except ChaptersError as exc:
        raise ExportError(str(exc)) from None
    return iter([text.encode("utf-8")]), data


def render(store: Store, config: Config, fmt: str, *, statuses: Iterable[str] | None = None,
           include_askers: bool = False, group_by: str | None = None
           ) -> tuple[bytes, ExportData]:
    """One format's bytes (UTF-8) and the data they were made from (for the summary)."""
    chunks, data = render_chunks(store, config, fmt, statuses=statuses,
                                 include_askers=include_askers, group_by=group_by)
    return b"".join(chunks), data


_RENDERERS = {
    "csv": lambda data: to_csv(data.questions),
    "markdown": lambda data: notes_page(data, MARKDOWN),
    "wikitext": lambda data: notes_page(data, WIKITEXT),
    "followup": followup_list,
    "chapters": chapters,
}


def write_atomically(path: str | Path, chunks: Iterable[bytes]) -> None:
    """Write `chunks` to `path` through a temporary file, so a reader never sees half a file."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(chunks)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_to_file(store: Store, config: Config, fmt: str, path: str | Path, *,
                   statuses: Iterable[str] | None = None, include_askers: bool = False,
                   group_by: str | None = None) -> str:
    """Write one format to `path`; returns the short summary to show (CLI, TUI ctrl+e)."""
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise ExportError(f"cannot write {target}: the folder {target.parent} does not exist")
    chunks, data = render_chunks(store, config, fmt, statuses=statuses,
                                 include_askers=include_askers, group_by=group_by)
    try:
        write_atomically(target, chunks)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from None
    return summary(data, fmt, target)


def summary(data: ExportData, fmt: str, path: str | Path) -> str:
    """Counts per status and per source, and the median time from arrival to answer."""
    questions = data.questions
    statuses = Counter(q.status for q in questions)
    sources = Counter(q.source for q in questions)
    lines = [f"wrote {len(questions)} question{'s' if len(questions) != 1 else ''} "
             f"as {fmt} to {path}"]
    if questions:
        lines.append("by status: " + ", ".join(
            f"{s.value} {statuses[s]}" for s in Status if statuses[s]))
        lines.append("by source: " + ", ".join(
            f"{name} {count}" for name, count in sorted(sources.items())))
    median = timeline.median_answer_seconds(questions, data.answered_at)
    if median is None:
        lines.append("median time from arrival to answer: none answered")
    else:
        lines.append(f"median time from arrival to answer: {timeline.format_duration(median)} "
                     f"({len(data.answered_at)} answered)")
    return "\n".join(lines)
