"""SQLite persistence: schema and migrations, group commit, checkpoints, the change/audit log.

Durability rules (all of them in docs/architecture.md): WAL with synchronous=FULL; a collector's
messages and its checkpoint are written in one transaction; `UNIQUE(source, external_id)` makes
every source idempotent. Every change to a question is a row in `changes` with a global `seq`, the
state before and after, the actor and the command: it is the audit log, the question's history, and
what a reconnecting client replays.

Writes go through group commit (group_commit.py): the queue's owner task hands over a batch of
writes, one transaction commits them all, and the queue changes its memory only afterwards.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from .group_commit import GroupCommitWriter, Outcome, StoreError, transaction
from .model import HistoryEntry, Question, encode_json, lift_similar, utc_now
from .store_lock import StoreLock, StoreLocked  # noqa: F401 - callers catch StoreLocked here

SCHEMA_VERSION = 3

# Each migration takes the schema from version N-1 to N. Never edit a released one: add a new.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE questions (
               id INTEGER PRIMARY KEY,
               source TEXT NOT NULL,
               external_id TEXT NOT NULL,
               status TEXT NOT NULL,
               data TEXT NOT NULL,
               UNIQUE (source, external_id))""",
        "CREATE INDEX questions_status ON questions (status)",
        """CREATE TABLE commands (
               id INTEGER PRIMARY KEY,
               at TEXT NOT NULL,
               actor TEXT NOT NULL,
               op TEXT NOT NULL,
               question_id INTEGER,
               args TEXT NOT NULL,
               effects TEXT NOT NULL DEFAULT '{}',
               undone_by INTEGER)""",
        "CREATE INDEX commands_actor ON commands (actor, id)",
        """CREATE TABLE changes (
               seq INTEGER PRIMARY KEY,
               question_id INTEGER NOT NULL,
               command_id INTEGER,
               at TEXT NOT NULL,
               actor TEXT NOT NULL,
               action TEXT NOT NULL,
               detail TEXT NOT NULL DEFAULT '{}',
               before TEXT,
               after TEXT NOT NULL)""",
        "CREATE INDEX changes_question ON changes (question_id, seq)",
        """CREATE TABLE checkpoints (
               name TEXT PRIMARY KEY,
               value TEXT NOT NULL,
               updated_at TEXT NOT NULL)""",
        """CREATE TABLE bans (
               entry TEXT PRIMARY KEY,
               added_at TEXT NOT NULL,
               actor TEXT NOT NULL)""",
    ],
    2: [
        # One person across channels (triage): each identity points at a person key.
        """CREATE TABLE identity_links (
               identity TEXT PRIMARY KEY,
               person TEXT NOT NULL)""",
        "CREATE INDEX identity_links_person ON identity_links (person)",
    ],
    3: [
        # Facts of the meeting itself (its end, the recording's start), written by commands.
        """CREATE TABLE meeting (
               key TEXT PRIMARY KEY,
               value TEXT NOT NULL)""",
    ],
}


class SchemaTooNew(StoreError):
    pass


_decode_question = msgspec.json.Decoder(Question).decode


def decode_question(raw: str | bytes) -> Question:
    """A stored (or exported) question; hints still in `meta["similar"]` are lifted into
    their field (model.lift_similar)."""
    question = _decode_question(raw)
    return lift_similar(question) if "similar" in question.meta else question
_decode_any = msgspec.json.Decoder().decode


def encode_question(question: Question) -> str:
    if question.history:
        question = msgspec.structs.replace(question, history=())
    return encode_json(question).decode()


@dataclass(slots=True)
class ChangeRow:
    """One change to one question: the unit of the audit log and of replay."""

    seq: int
    question_id: int
    at: str
    actor: str
    action: str
    after: Question
    before: Question | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    command_id: int | None = None


@dataclass(slots=True)
class CommandRow:
    id: int
    at: str
    actor: str
    op: str
    question_id: int | None
    args: dict[str, Any]
    effects: dict[str, Any] = field(default_factory=dict)
    undone_by: int | None = None


@dataclass(slots=True)
class Write:
    """Everything one submit or command writes, committed together or not at all.

    `created` rows are inserted and `updated` rows must exist: a row is never replaced by
    another message's (a clash on the id or on (source, external_id) fails the write).
    """

    created: list[Question] = field(default_factory=list)
    updated: list[Question] = field(default_factory=list)
    changes: list[ChangeRow] = field(default_factory=list)
    command: CommandRow | None = None
    undone: tuple[int, int] | None = None  # (command id undone, by command id)
    checkpoints: dict[str, Any] = field(default_factory=dict)
    bans_added: list[tuple[str, str]] = field(default_factory=list)  # (entry, actor)
    bans_removed: list[str] = field(default_factory=list)
    links_added: list[tuple[str, str]] = field(default_factory=list)  # (identity, person)
    links_removed: list[str] = field(default_factory=list)
    meeting: dict[str, str | None] = field(default_factory=dict)  # key -> value (None: delete)

    def apply(self, conn: sqlite3.Connection) -> None:
        now = utc_now()
        if self.command is not None:
            c = self.command
            conn.execute(
                "INSERT INTO commands (id, at, actor, op, question_id, args, effects)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (c.id, c.at, c.actor, c.op, c.question_id, encode_json(c.args).decode(),
                 encode_json(c.effects).decode()),
            )
        if self.undone is not None:
            conn.execute("UPDATE commands SET undone_by = ? WHERE id = ?",
                         (self.undone[1], self.undone[0]))
        encoded = {id(q): encode_question(q) for q in (*self.created, *self.updated)}
        conn.executemany(
            "INSERT INTO questions (id, source, external_id, status, data)"
            " VALUES (?, ?, ?, ?, ?)",
            [(q.id, q.source, q.external_id, q.status.value, encoded[id(q)])
             for q in self.created],
        )
        if self.updated:
            cursor = conn.executemany(
                "UPDATE questions SET status = ?, data = ? WHERE id = ?",
                [(q.status.value, encoded[id(q)], q.id) for q in self.updated])
            if cursor.rowcount != len(self.updated):
                raise StoreError("a changed question is not in the store")
        conn.executemany(
            "INSERT INTO changes (seq, question_id, command_id, at, actor, action, detail,"
            " before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (ch.seq, ch.question_id, ch.command_id, ch.at, ch.actor, ch.action,
                 encode_json(ch.detail).decode(),
                 encode_question(ch.before) if ch.before is not None else None,
                 encoded.get(id(ch.after)) or encode_question(ch.after))
                for ch in self.changes
            ],
        )
        for name, value in self.checkpoints.items():
            conn.execute(
                "INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (name, encode_json(value).decode(), now),
            )
        conn.executemany(
            "INSERT INTO bans (entry, added_at, actor) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(entry, now, actor) for entry, actor in self.bans_added],
        )
        conn.executemany("DELETE FROM bans WHERE entry = ?", [(e,) for e in self.bans_removed])
        conn.executemany(
            "INSERT INTO identity_links (identity, person) VALUES (?, ?)"
            " ON CONFLICT (identity) DO UPDATE SET person = excluded.person",
            self.links_added,
        )
        conn.executemany("DELETE FROM identity_links WHERE identity = ?",
                         [(i,) for i in self.links_removed])
        for key, value in self.meeting.items():
            if value is None:
                conn.execute("DELETE FROM meeting WHERE key = ?", (key,))
            else:
                conn.execute("INSERT INTO meeting (key, value) VALUES (?, ?) ON CONFLICT (key)"
                             " DO UPDATE SET value = excluded.value", (key, value))


def _connect(path: Path) -> sqlite3.Connection:
    # timeout=10 is SQLite's busy timeout: wait up to 10 s for another connection's lock
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)


class Store:
    """The database of one meeting. `open()` it, use it from one event loop, `close()` it.

    `exclusive=True` (run, serve) takes the lock file; readers such as `export` leave it off and
    only read.
    """

    def __init__(self, path: str | Path, *, exclusive: bool = True) -> None:
        self.path = Path(path)
        self.exclusive = exclusive
        self._lock = StoreLock(self.path)
        self._read: sqlite3.Connection | None = None
        self._writer: GroupCommitWriter | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def open(self) -> Store:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.exclusive:
                self._lock.acquire()
            try:
                conn = _connect(self.path)
                try:
                    self._prepare(conn)
                finally:
                    conn.close()
                self._read = _connect(self.path)
            except BaseException:
                self._lock.release()
                raise
        except (OSError, sqlite3.Error) as exc:  # a folder, no permission, a missing disk
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreError(
                f"cannot open the database {self.path} ({why}): check [store] path in the "
                "config names a file in a folder this user can write"
            ) from None
        return self

    def _prepare(self, conn: sqlite3.Connection) -> None:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a Townhall database ({exc})") from None
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path} was written by a newer Townhall (schema {version}, this one "
                f"knows up to {SCHEMA_VERSION}). Upgrade Townhall to open it."
            )
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"{self.path}: cannot switch to WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        if version < SCHEMA_VERSION:
            if not self.exclusive and version > 0:
                # A reader may migrate only while nobody owns the database.
                self._lock.acquire()
                self._lock.release()
            for target in range(version + 1, SCHEMA_VERSION + 1):
                with transaction(conn):
                    for statement in MIGRATIONS[target]:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {target}")

    def start_writer(self) -> None:
        """Start the group-commit writer thread (the queue does, at start)."""
        if self._writer is None:
            self._writer = GroupCommitWriter(self.path, _connect)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
        if self._read is not None:
            self._read.close()
            self._read = None
        self._lock.release()

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes ---------------------------------------------------------------------------

    async def commit(self, writes: Sequence[Write]) -> Outcome:
        """Write a batch in one transaction (group_commit.py); returns what is on disk."""
        if self._writer is None:
            raise StoreError("the store's writer is not running (call start_writer)")
        return await self._writer.commit(writes)

    def write_now(self, writes: Iterable[Write]) -> None:
        """Write synchronously in one transaction, outside any event loop (imports).

        `writes` may be a generator: each part is encoded and applied before the next is
        made, so a large import never holds the encoded rows of everything at once."""
        conn = _connect(self.path)
        try:
            conn.execute("PRAGMA synchronous = FULL")
            with transaction(conn):
                for write in writes:
                    write.apply(conn)
        finally:
            conn.close()

    # --- reads ----------------------------------------------------------------------------

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._read is None:
            raise StoreError("the store is not open")
        return self._read

    def load_questions(self, statuses: Iterable[str] | None = None) -> list[Question]:
        """Every question (or those in `statuses`), decoded row by row: the raw JSON of
        100,000 questions is never held at once (exports run in a 400 MB budget)."""
        where, params = "", ()
        if statuses is not None:
            params = tuple(statuses)
            where = f" WHERE status IN ({', '.join('?' * len(params))})"
        return [decode_question(row[0]) for row in
                self._conn.execute(f"SELECT data FROM questions{where} ORDER BY id", params)]

    def snapshot(self, known: Mapping[int, Question] | None = None
                 ) -> tuple[list[Question], int]:
        """Every committed question and the seq they are current as of, read consistently.

        `known` (the queue's in-memory questions) lets a row whose version matches reuse that
        object instead of decoding a second copy: at 100,000 questions a copy is ~250 MB, and
        a subscriber in the same process (the local TUI) would otherwise hold both. Rows are
        decoded one at a time, so the raw JSON of every question is never held at once.
        Questions are immutable and a version is committed once, so a matching version is the
        committed question (an uncommitted in-memory change has a version the row lacks).
        """
        conn = _connect(self.path)
        questions: list[Question] = []
        try:
            conn.execute("BEGIN")
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]
            for qid, version, data in conn.execute(
                    "SELECT id, json_extract(data, '$.version'), data FROM questions"
                    " ORDER BY id"):
                mine = known.get(qid) if known is not None else None
                questions.append(mine if mine is not None and mine.version == version
                                 else decode_question(data))
            conn.execute("COMMIT")
        finally:
            conn.close()
        return questions, seq

    def max_seq(self) -> int:
        return self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]

    def max_command_id(self) -> int:
        return self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM commands").fetchone()[0]

    def changes_since(self, seq: int, limit: int = 5_000) -> list[tuple[int, Question]]:
        rows = self._conn.execute(
            "SELECT seq, after FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        ).fetchall()
        return [(s, decode_question(after)) for s, after in rows]

    def change_rows(self, command_id: int) -> list[ChangeRow]:
        rows = self._conn.execute(
            "SELECT seq, question_id, at, actor, action, after, before, detail, command_id"
            " FROM changes WHERE command_id = ? ORDER BY seq", (command_id,)
        ).fetchall()
        return [
            ChangeRow(seq=r[0], question_id=r[1], at=r[2], actor=r[3], action=r[4],
                      after=decode_question(r[5]),
                      before=decode_question(r[6]) if r[6] is not None else None,
                      detail=_decode_any(r[7]), command_id=r[8])
            for r in rows
        ]

    def last_command(self, actor: str) -> CommandRow | None:
        """The actor's most recent command that is not an undo and not undone yet."""
        row = self._conn.execute(
            "SELECT id, at, actor, op, question_id, args, effects, undone_by FROM commands"
            " WHERE actor = ? AND op != 'undo' AND undone_by IS NULL ORDER BY id DESC LIMIT 1",
            (actor,),
        ).fetchone()
        if row is None:
            return None
        return CommandRow(id=row[0], at=row[1], actor=row[2], op=row[3], question_id=row[4],
                          args=_decode_any(row[5]), effects=_decode_any(row[6]),
                          undone_by=row[7])

    def history(self, question_id: int) -> list[HistoryEntry]:
        rows = self._conn.execute(
            "SELECT at, actor, action, detail FROM changes WHERE question_id = ? ORDER BY seq",
            (question_id,),
        ).fetchall()
        return [HistoryEntry(at=r[0], actor=r[1], action=r[2], detail=_decode_any(r[3]))
                for r in rows]

    def all_history(self, actions: Iterable[str] | None = None, *,
                    detail_only: Iterable[str] = ()) -> dict[int, list[HistoryEntry]]:
        """Every question's history, for the JSON export (one pass over the log); with
        `actions`, only the entries of those actions (the notes page needs only a few); the
        entries of `detail_only` actions only where their detail is not empty."""
        result: dict[int, list[HistoryEntry]] = {}
        where, params = "", ()
        if actions is not None:
            params = tuple(actions)
            where = f" WHERE action IN ({', '.join('?' * len(params))})"
        skip = tuple(detail_only)
        if skip:
            where += (" AND" if where else " WHERE") + (
                f" NOT (action IN ({', '.join('?' * len(skip))}) AND detail = '{{}}')")
            params = (*params, *skip)
        for qid, at, actor, action, detail in self._conn.execute(
            f"SELECT question_id, at, actor, action, detail FROM changes{where} ORDER BY seq",
            params,
        ):
            result.setdefault(qid, []).append(HistoryEntry(
                at=at, actor=actor, action=action,
                detail={} if detail == "{}" else _decode_any(detail)))  # most are empty
        return result

    def checkpoint(self, name: str) -> Any | None:
        row = self._conn.execute("SELECT value FROM checkpoints WHERE name = ?", (name,)).fetchone()
        return _decode_any(row[0]) if row else None

    def bans(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT entry FROM bans")}

    def meeting(self) -> dict[str, str]:
        """The meeting's own facts (commands' `Effect.meeting`), e.g. `ended_at`."""
        return dict(self._conn.execute("SELECT key, value FROM meeting"))

    def identity_links(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT identity, person FROM identity_links"))

    def integrity_check(self) -> str:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0]

    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]
