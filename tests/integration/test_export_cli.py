"""`townhall export` and `townhall import` through the real CLI (subprocesses), on the meeting of
tests/support/export_meeting.py: every format on standard output matches its golden, an export
works while the database is owned by a running server, and export -> import -> export
round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.store import Store
from tests.conftest import townhall
from tests.support.export_meeting import CONFIG, meeting_db  # noqa: F401 (fixture)

GOLDEN = Path(__file__).parent.parent / "data" / "golden"


def write_config(folder: Path, db: Path) -> Path:
    path = folder / "townhall.toml"
    path.write_text(CONFIG + f'\n[store]\npath = "{db}"\n')
    return path


@pytest.fixture
def config_file(tmp_path: Path, meeting_db: Path) -> Path:  # noqa: F811
    return write_config(tmp_path, meeting_db)


@pytest.mark.parametrize(("fmt", "flags", "golden"), [
    ("csv", [], "meeting.csv"),
    ("markdown", ["--include-askers"], "meeting-askers.md"),
    ("wikitext", [], "meeting.wiki"),
    ("followup", [], "meeting-followup.txt"),
])
def test_stdout_export_matches_the_golden(config_file: Path, fmt: str, flags: list[str],
                                          golden: str) -> None:
    proc = townhall("export", "--config", str(config_file), "--format", fmt, *flags)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (GOLDEN / golden).read_text()


def test_export_runs_while_a_server_owns_the_database(config_file: Path, meeting_db: Path,  # noqa: F811
                                                     tmp_path: Path) -> None:
    owner = Store(meeting_db).open()  # takes the lock, as `townhall run` / `serve` do
    try:
        assert "in use" in townhall("import", str(tmp_path / "x.json"), "--config",
                                    str(config_file)).stderr
        out = tmp_path / "notes.wiki"
        proc = townhall("export", "--config", str(config_file), "--format", "wikitext",
                        "-o", str(out))
    finally:
        owner.close()
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == (GOLDEN / "meeting.wiki").read_text()
    assert "by status: answered 8, follow_up 5, dismissed 8, merged 2" in proc.stdout
    assert "median time from arrival to answer: 8 min 45 s (8 answered)" in proc.stdout


def _without_exported_at(path: Path) -> dict:
    document = json.loads(path.read_text())
    assert document.pop("exported_at")
    return document


def test_json_round_trip_through_the_cli(config_file: Path, tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    proc = townhall("export", "--config", str(config_file), "--format", "json", "-o", str(first))
    assert proc.returncode == 0, proc.stderr
    other = tmp_path / "other"
    other.mkdir()
    other_config = write_config(other, other / "imported.db")
    proc = townhall("import", "--config", str(other_config), str(first))
    assert proc.returncode == 0, proc.stderr
    assert "imported 23 questions with" in proc.stdout
    second = tmp_path / "second.json"
    proc = townhall("export", "--config", str(other_config), "--format", "json", "-o",
                    str(second))
    assert proc.returncode == 0, proc.stderr
    assert _without_exported_at(first) == _without_exported_at(second)
    assert _without_exported_at(second) == _without_exported_at(GOLDEN / "meeting.json")
    # the notes page of the imported store (answer order comes from the imported history)
    proc = townhall("export", "--config", str(other_config), "--format", "markdown")
    assert proc.stdout == (GOLDEN / "meeting.md").read_text()
    # a second import into the now non-empty store is refused, and changes nothing
    proc = townhall("import", "--config", str(other_config), str(first))
    assert proc.returncode == 1
    assert "already holds questions" in proc.stderr and "empty store" in proc.stderr


def test_a_bad_file_is_reported_and_nothing_imported(tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path / "new.db")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"questions": [
        {"id": "seven", "source": "youtube", "external_id": "a", "text": "x",
         "author": {"name": "A", "id": "1"}, "received_at": "2022-11-10T14:00:00Z"},
        {"id": 2, "source": "youtube", "external_id": "b", "text": "x",
         "author": {"name": "A", "id": "1"}, "received_at": "yesterday"},
    ]}))
    proc = townhall("import", "--config", str(config), str(bad))
    assert proc.returncode == 1
    assert "2 problems; nothing was imported" in proc.stderr
    assert "questions[0] (id 'seven'): Expected `int`, got `str` - at `$.id`" in proc.stderr
    assert "questions[1] (id 2): received_at 'yesterday' is not an ISO-8601 time" in proc.stderr
    with Store(tmp_path / "new.db", exclusive=False) as store:
        assert store.load_questions() == []


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "csv", "--status", "answered,bogus"], "unknown status bogus"),
    (["--format", "pdf"], "invalid choice"),
])
def test_bad_usage_exits_2(config_file: Path, args: list[str], message: str) -> None:
    proc = townhall("export", "--config", str(config_file), *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path / "nowhere.db")
    proc = townhall("export", "--config", str(config), "--format", "csv")
    assert proc.returncode == 1 and "no database at" in proc.stderr
