"""The queue under concurrent commands, arrivals and failing writes: memory never runs ahead of
the disk.

A hypothesis state machine drives a real queue on a real store in a temporary folder. Each step
launches, at once, up to two commands from each of three moderators (in order per moderator, as
a client sends them) and up to three arrivals, and makes some of their writes fail in the store's
writer thread (`Write.apply` raises `sqlite3.OperationalError` for the writes chosen). After
every step:

- at most one question is live, in memory and on disk, and the host list is ranked 0..n-1;
- the queue's memory equals a fresh read of the database (what `townhall export` sees);
- every acknowledged command and arrival is on disk, and a failed one left no trace;
- a write that failed was one chosen to fail (a failure never spills onto another caller);
- a command naming a question wrongly (an id beyond SQLite's integers, a string, an id on a
  questionless op) is refused as `invalid` before anything is decided;
- `undo` takes back exactly the moderator's last acknowledged command and restores what that
  command changed.

Runs are short (CI): the point is many interleavings with failures, not long sessions.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from aggregator.commands import Command, CommandError
from aggregator.model import Incoming, Question, Status
from aggregator.queue import Checkpoint, QuestionQueue
from aggregator.store import Store, StoreError, Write

from ..conftest import incoming

ACTORS = ("ana", "bo", "cy")
AUTHORS = 4
#: 2**70: an id Python accepts and SQLite cannot store
HUGE = 1180591620717411303424
CHECKPOINT = "sim"

# --- failure injection ------------------------------------------------------------------------


class Doomed:
    """Which writes fail during the current step. Read by the writer thread, set between steps
    (nothing is being written then)."""

    commands: frozenset[tuple[str, str, Any]] = frozenset()  # (actor, op, question)
    external_ids: frozenset[str] = frozenset()


_real_apply = Write.apply


def _apply_or_fail(self: Write, conn: sqlite3.Connection) -> None:
    if self.command is not None:
        key = (self.command.actor, self.command.op, self.command.question_id)
        if key in Doomed.commands:
            raise sqlite3.OperationalError(f"injected failure of {key}")
    elif any(q.external_id in Doomed.external_ids for q in self.created):
        raise sqlite3.OperationalError("injected failure of an arrival")
    _real_apply(self, conn)


# --- what a step does -------------------------------------------------------------------------

QUESTION_OPS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "approve": st.just({}),
    "dismiss": st.sampled_from(["spam", "off_topic", ""]).map(lambda r: {"reason": r}),
    "restore": st.just({}),
    "go_live": st.just({}),
    "answered": st.just({}),
    "requeue": st.just({}),
    "follow_up": st.just({}),
    "reopen": st.just({}),
    "star": st.just({}),
    "unstar": st.just({}),
    "edit": st.sampled_from(["Better wording?", ""]).map(lambda t: {"text": t}),
    "tag": st.sampled_from([[], ["budget"], ["ucoc", "budget"]]).map(lambda t: {"tags": t}),
    "assign": st.sampled_from(["Jan", None]).map(lambda a: {"assignee": a}),
    "note": st.just({"note": "Answered in the call."}),
    "merge": st.integers(0, 30).map(lambda pick: {"into": ("pick", pick)}),
    "reorder": st.integers(0, 3).map(lambda rank: {"rank": rank}),
    "ban": st.just({}),
}
QUESTIONLESS_OPS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "next": st.just({}),
    "undo": st.just({}),
    "add": st.just({"text": "From the room: what next?", "author": "Room"}),
    "unban": st.integers(0, 5).map(lambda pick: {"identity": ("ban", pick)}),
}
#: how a command names its question: ("pick", i) is the i-th id known when the step starts
#: mostly the first few ids, so that concurrent commands often meet on the same question
GOOD_TARGET = st.one_of(st.integers(0, 3), st.integers(0, 30)).map(lambda i: ("pick", i))
BAD_TARGET = st.sampled_from([("huge",), ("text",), ("missing",), ("none",)])


@dataclass(frozen=True)
class Call:
    op: str
    target: tuple[Any, ...]
    args: dict[str, Any]
    fail: bool


def _calls() -> st.SearchStrategy[Call]:
    fail = st.integers(0, 3).map(lambda n: n == 0)  # one write in four fails
    with_question = st.sampled_from(sorted(QUESTION_OPS)).flatmap(lambda op: st.builds(
        Call, st.just(op), st.one_of(GOOD_TARGET, GOOD_TARGET, GOOD_TARGET, BAD_TARGET),
        QUESTION_OPS[op], fail))
    questionless = st.sampled_from(sorted(QUESTIONLESS_OPS)).flatmap(lambda op: st.builds(
        Call, st.just(op), st.one_of(*[st.just(("none",))] * 5, GOOD_TARGET, BAD_TARGET),
        QUESTIONLESS_OPS[op], fail))
    return st.one_of(with_question, questionless)


@dataclass(frozen=True)
class Arrival:
    kind: str  # "new", "page" (two messages and a checkpoint, one transaction), "again"
    author: int
    pick: int
    fail: bool


ARRIVALS = st.builds(Arrival, st.sampled_from(["new", "new", "page", "again"]),
                     st.integers(0, AUTHORS - 1), st.integers(0, 30),
                     st.integers(0, 4).map(lambda n: n == 0))


@dataclass(eq=False)
class Acked:
    """A command the queue acknowledged, as the model remembers it.

    `changed` is what `apply` returned. A command that returned nothing may still have written
    (a ban or unban changes the ban list, not a question), or may have had nothing to write:
    only for those does the commands table decide whether it is on disk.
    """

    actor: str
    op: str
    question: Any
    changed: list[Question]
    before: dict[int, Question | None]  # each changed question at the start of its step
    clean: bool = True  # `before` is exact: nothing else in its step touched those questions


FIELDS = ("status", "dismiss_reason", "starred", "tags", "assignee", "note", "edited_text",
          "merged_into", "askers", "flags")


def _content(q: Question) -> tuple[Any, ...]:
    """What undo restores, apart from the host-list position (others may have moved it)."""
    return tuple(getattr(q, f) for f in FIELDS)


def _boundary_refusal(call: Call) -> str | None:
    """The code a command must get before anything is decided, from its shape alone."""
    kind = call.target[0]
    if call.op in QUESTIONLESS_OPS:
        return None if kind == "none" else "invalid"
    return {"huge": "invalid", "text": "invalid", "none": "invalid",
            "missing": "not_found"}.get(kind)


#: an id of the right type that names no question: `not_found`, or `invalid` if the boundary
#: checks known ids itself
ALSO_ACCEPTED = {"not_found": {"invalid"}}


# --- the machine ------------------------------------------------------------------------------


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory(prefix="townhall-stateful-")
        self.path = Path(self._dir.name) / "t.db"
        self.loop = asyncio.new_event_loop()
        self.store, self.queue = self.loop.run_until_complete(self._open())
        self.messages = 0
        self.log: dict[str, list[Acked]] = {actor: [] for actor in ACTORS}
        self.arrived: dict[str, int] = {}  # external id -> question id, acknowledged
        self.sent: dict[str, Incoming] = {}
        self.lost: set[str] = set()  # external ids whose submit failed
        self.checkpoint: Any = None
        self.doomed: frozenset[tuple[str, str, Any]] = frozenset()

    async def _open(self) -> tuple[Store, QuestionQueue]:
        store = Store(self.path).open()
        queue = QuestionQueue(store)
        await queue.start()
        return store, queue

    async def _close(self) -> None:
        await self.queue.flush()
        await self.queue.close()
        self.store.close()

    def teardown(self) -> None:
        try:
            self.loop.run_until_complete(self._close())
        finally:
            self.loop.close()
            self._dir.cleanup()

    # --- rules --------------------------------------------------------------------------

    @rule(ana=st.lists(_calls(), max_size=2), bo=st.lists(_calls(), max_size=2),
          cy=st.lists(_calls(), max_size=2), arrivals=st.lists(ARRIVALS, max_size=3))
    def step(self, ana: list[Call], bo: list[Call], cy: list[Call],
             arrivals: list[Arrival]) -> None:
        self.loop.run_until_complete(self._step({"ana": ana, "bo": bo, "cy": cy}, arrivals))

    @rule()
    def restart(self) -> None:
        """Stop and start again on the same database: the queue rebuilt from disk goes on."""
        self.loop.run_until_complete(self._close())
        self.store, self.queue = self.loop.run_until_complete(self._open())

    # --- one step -----------------------------------------------------------------------

    async def _step(self, calls: dict[str, list[Call]], arrivals: list[Arrival]) -> None:
        start = {q.id: q for q in self.queue.all()}
        ids = sorted(start)
        bans = sorted(self.queue.bans)
        commands = {actor: [self._command(call, ids, bans) for call in mine]
                    for actor, mine in calls.items()}
        batches = [self._batch(a) for a in arrivals]
        if sum(checkpoint is not None for _, checkpoint, _ in batches) > 1:
            batches = [b if b[1] is None else (b[0], None, b[2]) for b in batches]

        Doomed.commands = frozenset(
            (actor, command.op, command.question)
            for actor in ACTORS for call, command in zip(calls[actor], commands[actor])
            if call.fail)
        Doomed.external_ids = frozenset(
            i.external_id for messages, _, doomed in batches if doomed for i in messages)
        # A call marked `fail` dooms every command of its actor with the same op and question
        # in this step (the writer thread tells writes apart by nothing finer).
        self.doomed = Doomed.commands
        try:
            # Launched in this order; each moderator's commands in the order they were sent.
            tasks: list[asyncio.Future[Any]] = []
            for round_ in (0, 1):
                for actor in ACTORS:
                    if round_ < len(commands[actor]):
                        tasks.append(asyncio.ensure_future(
                            self.queue.apply(commands[actor][round_], actor)))
                if round_ == 0:
                    tasks.extend(asyncio.ensure_future(self.queue.submit_batch(m, c))
                                 for m, c, _ in batches)
            outcomes = iter(await asyncio.gather(*tasks, return_exceptions=True))
        finally:
            Doomed.commands, Doomed.external_ids = frozenset(), frozenset()

        results: dict[str, list[Any]] = {actor: [] for actor in ACTORS}
        arrived: list[Any] = []
        for round_ in (0, 1):
            for actor in ACTORS:
                if round_ < len(commands[actor]):
                    results[actor].append(next(outcomes))
            if round_ == 0:
                arrived = [next(outcomes) for _ in batches]

        for batch, outcome in zip(batches, arrived):
            self._check_arrival(batch, outcome)
        fresh: list[Acked] = []
        for actor in ACTORS:
            for call, command, outcome in zip(calls[actor], commands[actor], results[actor]):
                entry = self._check_command(actor, call, command, outcome, start)
                if entry is not None:
                    fresh.append(entry)
        self._mark_clean(fresh)

    def _command(self, call: Call, ids: list[int], bans: list[str]) -> Command:
        def resolve(target: tuple[Any, ...]) -> Any:
            kind = target[0]
            if kind == "pick":
                return ids[target[1] % len(ids)] if ids else 1
            return {"huge": HUGE, "text": "1", "none": None,
                    "missing": max(ids, default=0) + 1_000}[kind]

        args = dict(call.args)
        if isinstance(args.get("into"), tuple):
            args["into"] = resolve(args["into"])
        if isinstance(args.get("identity"), tuple):
            pick = args["identity"][1]
            args["identity"] = bans[pick % len(bans)] if bans and pick else "youtube:nobody"
        return Command(op=call.op, question=resolve(call.target), args=args)

    def _batch(self, arrival: Arrival) -> tuple[list[Incoming], Checkpoint | None, bool]:
        if arrival.kind == "again" and self.arrived:
            known = sorted(self.arrived)
            return [self.sent[known[arrival.pick % len(known)]]], None, False
        count = 2 if arrival.kind == "page" else 1
        messages = []
        for _ in range(count):
            self.messages += 1
            n = self.messages
            message = incoming(f"s{n}", f"Question {n}: what about the budget?",
                               author=f"p{arrival.author}")
            self.sent[message.external_id] = message
            messages.append(message)
        checkpoint = Checkpoint(CHECKPOINT, self.messages) if arrival.kind == "page" else None
        return messages, checkpoint, arrival.fail

    # --- what each outcome must be ------------------------------------------------------

    def _check_arrival(self, batch: tuple[list[Incoming], Checkpoint | None, bool],
                       outcome: Any) -> None:
        messages, checkpoint, doomed = batch
        if isinstance(outcome, StoreError):
            assert doomed, f"an arrival failed without an injected failure: {outcome}"
            self.lost.update(m.external_id for m in messages)
            return
        if isinstance(outcome, BaseException):
            raise AssertionError(f"submit crashed: {outcome!r}") from outcome
        assert not doomed or all(not r.created for r in outcome), \
            "a submit whose write failed was acknowledged"
        for message, result in zip(messages, outcome, strict=True):
            known = self.arrived.get(message.external_id)
            if known is not None:
                assert not result.created and result.question.id == known, \
                    "a message delivered again was stored again"
            else:
                assert result.created, f"a new message {message.external_id} was not created"
                self.arrived[message.external_id] = result.question.id
        if checkpoint is not None:
            self.checkpoint = checkpoint.value

    def _check_command(self, actor: str, call: Call, command: Command, outcome: Any,
                       start: dict[int, Question]) -> Acked | None:
        refusal = _boundary_refusal(call)
        doomed = (actor, command.op, command.question) in self.doomed
        if isinstance(outcome, StoreError):
            assert refusal is None, f"{command} reached the store; it is {refusal} by its shape"
            assert doomed, f"{command} by {actor} failed without an injected failure: {outcome}"
            return None
        if isinstance(outcome, CommandError):
            if refusal is not None:
                assert outcome.code == refusal or outcome.code in ALSO_ACCEPTED.get(refusal, ()), \
                    f"{command}: {outcome.code} {outcome.message}"
            else:
                assert outcome.code in ("invalid", "conflict", "not_found"), outcome.code
            return None
        if isinstance(outcome, BaseException):
            raise AssertionError(f"{command} by {actor} crashed: {outcome!r}") from outcome
        assert refusal is None, f"{command} was acknowledged; it must be {refusal}"
        assert not (doomed and outcome), f"{command} was acknowledged but its write failed"
        entry = Acked(actor=actor, op=command.op, question=command.question,
                      changed=list(outcome), before={})
        if command.op == "add":
            entry.before = {q.id: None for q in outcome}
        else:
            entry.before = {q.id: start.get(q.id) for q in outcome}
            entry.clean = all(q.id in start for q in outcome)
        self.log[actor].append(entry)
        return entry

    def _mark_clean(self, fresh: list[Acked]) -> None:
        """A command's `before` (its questions at the start of the step) is exact only if no
        command of the step that may have come before it changed the same questions. The same
        moderator's later commands came after it (each moderator's commands run in order)."""
        for entry in fresh:
            mine = {q.id for q in entry.changed}
            later = False
            for other in fresh:
                if other is entry:
                    later = True
                    continue
                if later and other.actor == entry.actor:
                    continue
                if mine & {q.id for q in other.changed}:
                    entry.clean = False

    # --- after every step ---------------------------------------------------------------

    @invariant()
    def memory_is_the_disk(self) -> None:
        memory = {q.id: q for q in self.queue.all()}
        with Store(self.path, exclusive=False) as reader:
            disk = {q.id: q for q in reader.load_questions()}
            disk_bans = reader.bans()
            checkpoint = reader.checkpoint(CHECKPOINT)
        differ = sorted(i for i in memory.keys() | disk.keys() if memory.get(i) != disk.get(i))
        assert not differ, f"memory and disk differ on {differ}: " + "; ".join(
            f"#{i} memory {_show(memory.get(i))} disk {_show(disk.get(i))}" for i in differ[:3])
        assert self.queue.bans == disk_bans
        assert checkpoint == self.checkpoint

        live = [q.id for q in disk.values() if q.status is Status.LIVE]
        assert len(live) <= 1, f"live questions: {live}"
        assert self.queue.live_id() == (live[0] if live else None)
        ranks = sorted(q.rank for q in disk.values() if q.status is Status.QUEUED)
        assert ranks == list(range(len(ranks))), f"host list ranks {ranks}"

        by_external = {q.external_id: q.id for q in disk.values()}
        for external_id, qid in self.arrived.items():
            assert by_external.get(external_id) == qid, f"acknowledged {external_id} lost"
        for external_id in self.lost:
            assert external_id not in by_external, f"failed arrival {external_id} was stored"

    @invariant()
    def acknowledged_commands_are_the_log(self) -> None:
        """The commands table holds each moderator's acknowledged commands in order and none
        that failed; each undo on disk took back that moderator's last command not undone yet,
        restored what it changed, and nothing else is marked undone."""
        conn = sqlite3.connect(self.path)
        try:
            rows = conn.execute("SELECT id, actor, op, question_id, undone_by FROM commands"
                                " ORDER BY id").fetchall()
        finally:
            conn.close()
        assert {r[1] for r in rows} <= set(ACTORS), "commands on disk from nobody in the test"
        for actor in ACTORS:
            mine = [r for r in rows if r[1] == actor]
            matched = _match(self.log[actor], mine)
            undoable: list[tuple[Acked, tuple[Any, ...]]] = []
            for entry, row in matched:
                if entry.op != "undo":
                    undoable.append((entry, row))
                    continue
                assert undoable, f"{actor}'s undo #{row[0]} wrote with nothing to undo"
                target, target_row = undoable.pop()
                assert target_row[4] == row[0], (
                    f"{actor}'s undo #{row[0]} should take back {target.op} #{target.question}"
                    f" (command {target_row[0]}), which is marked undone by {target_row[4]}")
                _check_undo(target, entry)
            for entry, row in undoable:
                assert row[4] is None, \
                    f"{actor}'s {entry.op} #{entry.question} undone but never asked to be"


def _match(log: list[Acked], rows: list[tuple[Any, ...]]) -> list[tuple[Acked, tuple[Any, ...]]]:
    """Pair a moderator's acknowledged commands with their rows on disk, in order: every
    command that returned changes has its row, every row is an acknowledged command, and a
    command that returned nothing has a row only if that is the only way the rest fits."""
    n, m = len(log), len(rows)
    same = [[(log[i].op, log[i].question) == (rows[j][2], rows[j][3]) for j in range(m)]
            for i in range(n)]
    fits = [[False] * (m + 1) for _ in range(n + 1)]  # fits[i][j]: log[i:] against rows[j:]
    fits[n][m] = True
    for i in range(n - 1, -1, -1):
        for j in range(m, -1, -1):
            fits[i][j] = ((j < m and same[i][j] and fits[i + 1][j + 1])
                          or (not log[i].changed and fits[i + 1][j]))
    assert fits[0][0], (
        f"acknowledged commands {[(e.op, e.question, bool(e.changed)) for e in log]}"
        f" (True: it returned changes, so it must be on disk)"
        f" do not fit the rows on disk {[(r[0], r[2], r[3]) for r in rows]}")
    pairs, j = [], 0
    for i, entry in enumerate(log):
        if j < m and same[i][j] and fits[i + 1][j + 1]:
            pairs.append((entry, rows[j]))
            j += 1
    return pairs


def _check_undo(target: Acked, undo: Acked) -> None:
    """An undo restores each question its target changed to what it was before the target
    (a question the target created is withdrawn); known only when the target's step left
    those questions to it."""
    if not target.clean:
        return
    restored = {q.id: q for q in undo.changed}
    for q in target.changed:
        now = restored.get(q.id)
        if now is None:
            continue  # already as it was: the undo had nothing to write for it
        before = target.before[q.id]
        if before is None:
            assert now.status is Status.DISMISSED and now.dismiss_reason == "withdrawn", \
                f"undo of {target.op} left #{q.id} {now.status}"
        else:
            assert _content(now) == _content(before), \
                f"undo of {target.op} #{target.question} did not restore #{q.id}"


def _show(q: Question | None) -> str:
    if q is None:
        return "absent"
    return f"{q.status}/rank={q.rank}/v{q.version}"


def test_memory_never_runs_ahead_of_the_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Write, "apply", _apply_or_fail)
    run_state_machine_as_test(QueueMachine, settings=settings(
        max_examples=50, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
