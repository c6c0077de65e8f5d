"""Golden files for every export format, from a realistic meeting built through the real queue
(tests/support/export_meeting.py), with a fixed clock so the files are stable.

Regenerate after an intended change with
`TOWNHALL_UPDATE_GOLDEN=1 pytest tests/unit/test_export_golden.py` and review the diff: the
goldens are the specification of what the organiser gets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import aggregator.export
from aggregator import export
from aggregator.config import Config, parse_config
from aggregator.store import Store
from tests.support.export_meeting import CONFIG, HOSTILE_FORMULA, meeting_db  # noqa: F401 (fixture)

GOLDEN = Path(__file__).parent.parent / "data" / "golden"
EXPORTED_AT = "2022-11-10T16:00:00.000Z"
#: (file name, format, include_askers)
CASES = [
    ("meeting.json", "json", False),
    ("meeting.csv", "csv", False),
    ("meeting.md", "markdown", False),
    ("meeting-askers.md", "markdown", True),
    ("meeting.wiki", "wikitext", False),
    ("meeting-askers.wiki", "wikitext", True),
    ("meeting-followup.txt", "followup", False),
    ("meeting-chapters.txt", "chapters", False),
]


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture
def reader(meeting_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(aggregator.export, "utc_now", lambda: EXPORTED_AT)
    store = Store(meeting_db, exclusive=False).open()
    yield store
    store.close()


def check_golden(name: str, payload: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("TOWNHALL_UPDATE_GOLDEN"):
        path.write_bytes(payload)
    assert path.exists(), f"{path} is missing: run with TOWNHALL_UPDATE_GOLDEN=1"
    assert payload.decode() == path.read_bytes().decode(), f"{name} differs from its golden"


@pytest.mark.parametrize(("name", "fmt", "askers"), CASES, ids=[c[0] for c in CASES])
def test_format_matches_its_golden(reader: Store, config: Config, name: str, fmt: str,
                                   askers: bool) -> None:
    payload, _ = export.render(reader, config, fmt, include_askers=askers)
    check_golden(name, payload)


def test_notes_list_answers_in_the_order_they_were_answered(reader: Store,
                                                            config: Config) -> None:
    page = export.render(reader, config, "markdown")[0].decode()
    order = ["strategy consultation", "grants process", "free of charge", "SUM",
             "last year", "sessions recorded"]
    positions = [page.index(fragment) for fragment in order]
    assert positions == sorted(positions)


def test_notes_never_show_dismissed_text_nor_askers_unless_asked(reader: Store,
                                                                 config: Config) -> None:
    for fmt in ("markdown", "wikitext"):
        page = export.render(reader, config, fmt)[0].decode()
        for dismissed in ("clowns", "FOLLOWERS", "blocked last week", "hello everyone",
                          "Berlin", "oops", "Urgent", "private answer to Mallory"):
            assert dismissed not in page
        for name in ("Ana López", "Bob Stone", "DevFan", "carl@example.org", "HYPERLINK"):
            assert name not in page
        with_askers = export.render(reader, config, fmt, include_askers=True)[0].decode()
        assert "Ana López" in with_askers and "ana@example.org" not in with_askers


def test_config_include_askers_names_them(reader: Store) -> None:
    config = parse_config(CONFIG + "\n[export]\ninclude_askers = true\n")
    assert "Bob Stone" in export.render(reader, config, "markdown")[0].decode()


def test_edited_wording_is_what_the_notes_show(reader: Store, config: Config) -> None:
    page = export.render(reader, config, "markdown")[0].decode()
    assert "free of charge for volunteer developers" in page
    assert "stay free for volunteers?" not in page


def test_status_filter_selects(reader: Store, config: Config) -> None:
    payload, data = export.render(reader, config, "csv", statuses=["follow_up"])
    assert {q.status.value for q in data.questions} == {"follow_up"}
    assert payload.decode().count("\r\n") == 1 + 5


def test_followup_names_how_to_reach_each_asker(reader: Store, config: Config) -> None:
    text = export.render(reader, config, "followup")[0].decode()
    assert "Bob Stone: email bob@example.org" in text
    assert "Jon: email jon@example.org (asked in Zoom Q&A)" in text
    assert "Are the sessions recorded" not in text  # answered, not a follow-up


def test_export_to_file_writes_and_summarises(reader: Store, config: Config,
                                             tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    summary = export.export_to_file(reader, config, "markdown", target)
    assert target.read_bytes() == (GOLDEN / "meeting.md").read_bytes()
    assert summary.splitlines() == [
        f"wrote 23 questions as markdown to {target}",
        "by status: answered 8, follow_up 5, dismissed 8, merged 2",
        "by source: email 4, manual 1, youtube 11, zoom 5, zoom_qa 2",
        "median time from arrival to answer: 8 min 45 s (8 answered)",
    ]


def test_export_to_file_refuses_a_missing_folder(reader: Store, config: Config,
                                                tmp_path: Path) -> None:
    with pytest.raises(export.ExportError, match="does not exist"):
        export.export_to_file(reader, config, "csv", tmp_path / "no" / "x.csv")
    with pytest.raises(export.ExportError, match="unknown format"):
        export.export_to_file(reader, config, "pdf", tmp_path / "x.pdf")


def test_hostile_author_is_in_the_data_exports_neutralised(reader: Store,
                                                           config: Config) -> None:
    csv_text = export.render(reader, config, "csv")[0].decode()
    assert "'" + HOSTILE_FORMULA.replace('"', '""') in csv_text
