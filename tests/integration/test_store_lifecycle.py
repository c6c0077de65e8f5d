"""The store file: one owner at a time, schema versions, export alongside a running server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aggregator.store import (MIGRATIONS, SCHEMA_VERSION, SchemaTooNew, Store, StoreError,
                              StoreLocked)

from ..conftest import ROOT, townhall

HOLDER = """
import asyncio, sys
from aggregator.store import Store
from aggregator.queue import QuestionQueue
from aggregator.model import Incoming, Author
async def main():
    store = Store(sys.argv[1]).open()
    q = QuestionQueue(store); await q.start()
    await q.submit(Incoming(source="zoom", external_id="z1", author=Author(name="Ana", id="a"),
                            text="Held while exporting?"))
    print("ready", flush=True)
    await asyncio.sleep(30)
asyncio.run(main())
"""


@pytest.fixture
def holder(db_path: Path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_owner_is_refused_and_told_who_holds_it(db_path: Path, holder) -> None:
    with pytest.raises(StoreLocked) as err:
        Store(db_path).open()
    assert f"process {holder.pid}" in str(err.value)


@pytest.mark.parametrize("other_path", ["symlink", "hardlink", "dotdot"])
def test_no_other_path_to_the_same_file_gets_a_second_owner(
        db_path: Path, holder, tmp_path: Path, other_path: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if other_path == "symlink":
        path = elsewhere / "link.db"
        path.symlink_to(db_path)
    elif other_path == "hardlink":
        path = elsewhere / "hard.db"
        os.link(db_path, path)
    else:
        path = elsewhere / ".." / db_path.name
    with pytest.raises(StoreLocked) as err:
        Store(path).open()
    assert f"process {holder.pid}" in str(err.value)


def test_export_reads_while_the_owner_runs(db_path: Path, holder, tmp_path: Path) -> None:
    config = tmp_path / "townhall.toml"
    config.write_text(f'[store]\npath = "{db_path}"\n')
    result = townhall("export", "--config", str(config), "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [q["text"] for q in document["questions"]] == ["Held while exporting?"]
    assert document["questions"][0]["history"][0]["action"] == "received"


def test_the_lock_is_released_when_the_owner_dies(db_path: Path, holder) -> None:
    holder.kill()
    holder.wait()
    Store(db_path).open().close()


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer Townhall"):
        Store(db_path).open()


def test_an_older_schema_is_migrated_and_keeps_its_data(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO checkpoints VALUES ('imap', '{\"uid\": 7}', '2024-01-01')")
    conn.commit()
    conn.close()
    with Store(db_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.checkpoint("imap") == {"uid": 7}
        assert store.identity_links() == {}  # the table migration 2 added


def test_durability_settings(db_path: Path) -> None:
    with Store(db_path) as store:
        conn = sqlite3.connect(db_path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
        writer_sync = store._read.execute("PRAGMA synchronous").fetchone()[0]  # noqa: SLF001
        assert writer_sync in (1, 2)  # the read connection's default; the writer sets FULL below
    from aggregator.group_commit import GroupCommitWriter  # noqa: PLC0415
    from aggregator.store import _connect  # noqa: PLC0415
    import asyncio

    async def check() -> int:
        writer = GroupCommitWriter(db_path, _connect)
        try:
            return writer._conn.execute("PRAGMA synchronous").fetchone()[0]  # noqa: SLF001
        finally:
            writer.stop()

    assert asyncio.run(check()) == 2  # FULL


def test_not_a_database_is_a_clear_error(db_path: Path) -> None:
    db_path.write_bytes(b"this is not sqlite" * 100)
    from aggregator.store import StoreError

    with pytest.raises(StoreError, match="not a Townhall database"):
        Store(db_path).open()
    result = townhall("export", "--format", "json",
                      env={"TOWNHALL_CONFIG": str(_config_for(db_path))})
    assert result.returncode == 1 and "Traceback" not in result.stderr


def _config_for(db_path: Path) -> Path:
    config = db_path.with_suffix(".toml")
    config.write_text(f'[store]\npath = "{db_path}"\n')
    return config


def test_export_without_a_database_says_so(tmp_path: Path) -> None:
    result = townhall("export", "--format", "json",
                      env={"TOWNHALL_CONFIG": str(_config_for(tmp_path / "none.db"))})
    assert result.returncode == 1 and "no database" in result.stderr
    assert not (tmp_path / "none.db").exists()
    time.sleep(0)


@pytest.mark.parametrize("command", [["export", "--format", "json"], ["import", "in.json"]])
def test_a_store_path_that_cannot_be_opened_is_a_clear_error(tmp_path: Path,
                                                             command: list[str]) -> None:
    (tmp_path / "a-folder").mkdir()  # [store] path names a directory, not a database file
    (tmp_path / "in.json").write_text("[]")
    config = tmp_path / "townhall.toml"
    config.write_text('[store]\npath = "a-folder"\n')
    result = townhall(*command, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "a-folder" in result.stderr and "[store] path" in result.stderr


def test_store_open_failure_releases_the_lock(tmp_path: Path) -> None:
    target = tmp_path / "blocked"
    target.mkdir()
    with pytest.raises(StoreError, match=r"\[store\] path"):
        Store(target).open()
    target.rmdir()
    Store(target).open().close()  # the lock of the failed attempt is not held any more


async def test_a_taken_port_is_a_health_entry_and_the_queue_still_works(tmp_path: Path) -> None:
    import socket

    from aggregator.commands import Command
    from aggregator.config import parse_config
    from townhall.runtime import Runtime

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = parse_config(f'[store]\npath = "{tmp_path / "t.db"}"\n'
                              f'[server]\nport = {port}\n')
        async with Runtime(config) as runtime:
            assert runtime.bound_port is None
            server = runtime.health.get("server")
            assert server.state == "stopped" and f":{port} (in use)" in server.reason
            changed = await runtime.queue.apply(
                Command(op="add", args={"text": "From the room?"}), "mod")
            assert changed[0].text == "From the room?"
