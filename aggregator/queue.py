"""QuestionQueue: the one place where state changes (design.md sections 2 and 4).

Collectors `submit()`, moderators `apply()` commands, clients `subscribe()`. The queue keeps the
whole state in memory for validation (single-threaded on the event loop, so commands are
serialised without locks), gives every change a global `seq`, hands the write to the store's
group commit, and publishes the change to subscribers only once it is on disk.

State in memory runs ahead of the disk while a write is pending; what subscribers see never
does: snapshots and catch-up are read from the store, live changes arrive after commit.
"""

from __future__ import annotations

import asyncio
import uuid
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import msgspec

from .aio import cancel_and_wait
from .commands import (
    Command,
    CommandError,
    Draft,
    Effect,
    ban_entries,
    canonical_identity,
    decide,
    revert,
)
from .model import Asker, Author, Incoming, Question, Source, Status, utc_now
from .sanitize import clean_line, clean_text
from .store import ChangeRow, CommandRow, Store, StoreError, Write
from .subscription import Change, Subscription
from .triage.rules import Assessment
from .triage.similar import DuplicateIndex


class SubmitResult(NamedTuple):
    question: Question
    created: bool  # False: a duplicate of a message already stored (at-least-once delivery)


class Triage(Protocol):
    """Pure rules applied at ingestion (triage.py); the queue only needs this one call."""

    def assess(self, text: str, source: str) -> Assessment: ...


class _NoTriage:
    def assess(self, text: str, source: str) -> Assessment:
        return Assessment(0.5)


#: up to this many questions at start the duplicate-hint index is built before start() returns
SIMILAR_SYNC_LIMIT = 5_000

INCOMING_STATUSES = frozenset({Status.NEW, Status.ANSWERED, Status.FOLLOW_UP})


@dataclass
class Checkpoint:
    """A collector's position at its source, committed with the messages it covers."""

    name: str
    value: Any


class QuestionQueue:
    def __init__(self, store: Store, *, triage: Triage | None = None,
                 config_bans: Iterable[str] = ()) -> None:
        self.store = store
        self.triage: Triage = triage or _NoTriage()
        self._config_bans = {canonical_identity(entry) for entry in config_bans}
        self._questions: dict[int, Question] = {}
        # Memory at 100,000 questions decided these shapes: per-source dicts keyed by the
        # question's own external_id string (a (source, id) tuple per question cost 10 MB),
        # and arrays of ids per ban-list entry (a set per author cost 10 MB; they only grow).
        self._by_external: dict[str, dict[str, int]] = {}
        self._by_entry: dict[str, array[int]] = {}
        self._queued: set[int] = set()
        self._live: int | None = None
        self._stored_bans: set[str] = set()
        self.links: dict[str, str] = {}
        self._seq = 0
        self._next_id = 1
        self._command_id = 0
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._actor_pending: dict[str, set[asyncio.Future[None]]] = {}
        self._subscribers: set[Subscription] = set()
        self._started = False
        # duplicate hints (triage.similar): follows every open question through _index/_forget
        self.similar = DuplicateIndex()
        self._tracking = True
        self._similar_fill: asyncio.Task[None] | None = None
        self.similar_fill_delay = 2.0

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild the in-memory queue from the store and start its writer."""
        self.store.start_writer()
        questions = self.store.load_questions()
        background = len(questions) > SIMILAR_SYNC_LIMIT
        self._tracking = not background
        for q in questions:
            self._index(q)
        self._tracking = True
        if background:
            self._similar_fill = asyncio.create_task(
                self._fill_similar([q.id for q in questions]), name="similar-fill")
        self._seq = self.store.max_seq()
        self._command_id = self.store.max_command_id()
        self._next_id = max(self._questions, default=0) + 1
        self._stored_bans = self.store.bans()
        self.links = self.store.identity_links()
        self._started = True

    async def _fill_similar(self, ids: list[int]) -> None:
        """Index a large store's open questions for duplicate hints after start, oldest first
        (the index's id lists stay sorted by appending).

        Building the index for 100,000 questions takes seconds; doing it here lets the TUI
        paint and ingestion start at once; it begins after `similar_fill_delay` seconds, once
        start-up has settled (a client's first snapshot, the first screen), and runs in slices
        of 1,000 (about 10 ms each) so the event loop stays responsive. Until it finishes, a new
        message's hints consider the questions indexed so far. Questions that change meanwhile
        are indexed as they change (tracking is idempotent), so nothing is indexed stale.
        """
        await asyncio.sleep(self.similar_fill_delay)
        for start in range(0, len(ids), 1_000):
            for qid in ids[start:start + 1_000]:
                q = self._questions.get(qid)
                if q is not None:
                    self.similar.track(q)
            await asyncio.sleep(0)
        self._similar_fill = None

    async def close(self) -> None:
        """Stop background work (the hint index fill); pending writes are the store's."""
        task, self._similar_fill = self._similar_fill, None
        await cancel_and_wait([task])

    async def flush(self) -> None:
        """Wait until everything submitted so far is on disk."""
        await self.store.write(Write())

    # --- the read side (commands.QueueView) ------------------------------------------------

    @property
    def bans(self) -> set[str]:
        return self._stored_bans | self._config_bans

    @property
    def seq(self) -> int:
        return self._seq

    def get(self, question_id: int) -> Question | None:
        return self._questions.get(question_id)

    def find(self, source: str, external_id: str) -> Question | None:
        """The question stored for a source's message id (a collector applying a deletion)."""
        qid = self._by_external.get(source, {}).get(external_id)
        return self._questions.get(qid) if qid is not None else None

    def all(self) -> list[Question]:
        return list(self._questions.values())

    def __len__(self) -> int:
        return len(self._questions)

    def host_ids(self) -> list[int]:
        return sorted(self._queued, key=lambda qid: self._questions[qid].rank or 0)

    def host_count(self) -> int:
        return len(self._queued)

    def host_list(self) -> list[Question]:
        return [self._questions[qid] for qid in self.host_ids()]

    def live_id(self) -> int | None:
        return self._live

    def ids_for_entry(self, entry: str) -> Iterable[int]:
        return sorted(self._by_entry.get(entry, ()))

    def is_banned(self, question: Question) -> bool:
        bans = self.bans  # a property building a union: read once
        if not bans:  # the common case, checked on every arrival
            return False
        return any(entry in bans for entry in ban_entries(question, self.links))

    def history(self, question_id: int) -> list[Any]:
        return self.store.history(question_id)

    def checkpoint(self, name: str) -> Any | None:
        return self.store.checkpoint(name)

    def _index(self, q: Question) -> None:
        old = self._questions.get(q.id)
        self._questions[q.id] = q
        if self._tracking:
            self.similar.track(q)
        if old is None:
            self._by_external.setdefault(q.source, {})[q.external_id] = q.id
            for entry in _own_entries(q):
                ids = self._by_entry.get(entry)
                if ids is None:
                    self._by_entry[entry] = array("Q", (q.id,))
                else:
                    ids.append(q.id)
        if q.status is Status.QUEUED:
            self._queued.add(q.id)
        else:
            self._queued.discard(q.id)
        if q.status is Status.LIVE:
            self._live = q.id
        elif self._live == q.id:
            self._live = None

    def _forget(self, q: Question) -> None:
        self._questions.pop(q.id, None)
        self.similar.discard(q.id)
        self._by_external.get(q.source, {}).pop(q.external_id, None)
        for entry in _own_entries(q):
            ids = self._by_entry.get(entry)
            if ids is not None and q.id in ids:
                ids.remove(q.id)
        self._queued.discard(q.id)
        if self._live == q.id:
            self._live = None

    # --- ingestion ------------------------------------------------------------------------

    async def submit(self, incoming: Incoming, checkpoint: Checkpoint | None = None
                     ) -> SubmitResult:
        """Store one message (idempotent); returns once it is on disk."""
        return (await self.submit_batch([incoming], checkpoint))[0]

    async def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        await self.submit_batch([], checkpoint)

    async def submit_batch(self, incomings: Sequence[Incoming],
                           checkpoint: Checkpoint | None = None) -> list[SubmitResult]:
        """Store a page of messages and the checkpoint after them in one transaction.

        Returns only after the commit. A message already stored (same source and external id)
        is a duplicate: it is not stored again, and the call still waits for the first copy's
        commit so that "returned" always means "on disk".
        """
        self._require_started()
        results: list[SubmitResult] = []
        created: list[Question] = []
        waits: set[asyncio.Future[None]] = set()
        now = utc_now()
        for incoming in incomings:
            existing = self._by_external.get(incoming.source, {}).get(incoming.external_id)
            if existing is not None:
                results.append(SubmitResult(self._questions[existing], False))
                if existing in self._pending:
                    waits.add(self._pending[existing])
                continue
            question = self._build(incoming, now)
            self._index(question)
            created.append(question)
            results.append(SubmitResult(question, True))
        changes = [
            ChangeRow(seq=self._next_seq(), question_id=q.id, at=now, actor=q.source,
                      action="received", after=q,
                      detail={"status": q.status.value} if q.status is not Status.NEW else {})
            for q in created
        ]
        if created or checkpoint is not None:
            write = Write(questions=created, changes=changes,
                          checkpoints={checkpoint.name: checkpoint.value} if checkpoint else {})
            future = self._write(write, undo=lambda: [self._forget(q) for q in created])
            for q in created:
                self._pending[q.id] = future
            future.add_done_callback(lambda _f: [self._pending.pop(q.id, None) for q in created])
            waits.add(future)
        if len(waits) == 1:  # one page, one commit: skip gather's extra future
            await next(iter(waits))
        elif waits:
            await asyncio.gather(*waits)
        return results

    def _build(self, incoming: Incoming, now: str) -> Question:
        status = incoming.status if incoming.status in INCOMING_STATUSES else Status.NEW
        text = clean_text(incoming.text)
        author = Author(
            name=clean_line(incoming.author.name) or "(no name)",
            id=clean_line(incoming.author.id, 320) or "(unknown)",
            email=clean_line(incoming.author.email, 320) or None if incoming.author.email else None,
            url=clean_line(incoming.author.url, 500) or None if incoming.author.url else None,
        )
        assessment = self.triage.assess(text, incoming.source)
        similar = self.similar.hints(text)
        qid = self._next_id
        self._next_id += 1
        question = Question(
            id=qid, source=incoming.source, external_id=incoming.external_id, author=author,
            text=text, sent_at=incoming.sent_at, received_at=now, status=status,
            note=clean_text(incoming.note) or None if incoming.note else None,
            askers=(Asker(source=incoming.source, name=author.name, id=author.id,
                          email=author.email, question=qid),),
            likely_question=assessment.likely_question, tags=assessment.tags,
            flags=tuple(dict.fromkeys([*incoming.flags, *assessment.flags])),
            meta={**incoming.meta, "similar": similar} if similar else incoming.meta,
        )
        if status is Status.NEW and self.is_banned(question):
            question = msgspec.structs.replace(
                question, status=Status.DISMISSED, dismiss_reason="banned",
                flags=(*question.flags, "banned_author"))
        return question

    # --- commands -------------------------------------------------------------------------

    async def apply(self, command: Command, actor: str) -> list[Question]:
        """Apply a moderator's (or a collector's) command; returns the changed questions.

        Raises CommandError (invalid, conflict, not_found) without changing anything.
        Returns after the change is on disk and published.
        """
        self._require_started()
        actor = clean_line(actor, 100) or "unknown"
        # Each command is registered before anything is awaited, and an undo first waits for
        # the actor's commands registered before it (never for itself or later ones): an undo
        # sent while a command is still deciding or writing takes back that command, and two
        # quick undos take back two commands.
        in_flight = self._actor_pending.setdefault(actor, set())
        earlier = list(in_flight)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        in_flight.add(done)
        try:
            if command.op == "undo" and earlier:
                await asyncio.wait(earlier)  # unlike gather, never cancels what it waits on
            return await self._apply(command, actor)
        finally:
            in_flight.discard(done)
            if not in_flight and self._actor_pending.get(actor) is in_flight:
                del self._actor_pending[actor]
            if not done.done():
                done.set_result(None)

    async def _apply(self, command: Command, actor: str) -> list[Question]:
        horizon = self._next_id
        while True:
            if command.op == "undo":
                effect, undone = self._undo_effect(actor)
            elif command.op == "add":
                effect, undone = self._add_effect(command, actor), None
            else:
                effect, undone = decide(self, command, actor), None
            creating = {self._pending[after.id] for _, after, _, _ in effect.changes
                        if after.id in self._pending and after.id < horizon}
            if not creating:
                break
            # A question this command changes is still being created. Its commit decides
            # whether it exists: a command written after a failed creation would bring the
            # row back on disk while memory has forgotten it. So wait, then decide again.
            # Only for questions that existed when the command came: a ban must not wait for
            # ever behind its author's flood (those are written after it anyway, and a lone
            # failing creation between them is the rare case left).
            await asyncio.wait(creating)
        if not (effect.changes or effect.bans_added or effect.bans_removed
                or effect.links_added or effect.links_removed):
            return []
        self._command_id += 1
        command_id = self._command_id
        now = utc_now()
        changes = [
            ChangeRow(seq=self._next_seq(), question_id=after.id, at=now, actor=actor,
                      action=action, after=after, before=before, detail=detail,
                      command_id=command_id)
            for before, after, action, detail in effect.changes
        ]
        previous_links = {i: self.links[i] for i in effect.links_removed if i in self.links}
        previous_links.update({i: self.links[i] for i, _ in effect.links_added if i in self.links})
        write = Write(
            questions=[after for _, after, _, _ in effect.changes],
            changes=changes,
            command=CommandRow(
                id=command_id, at=now, actor=actor, op=command.op,
                question_id=command.question, args=dict(command.args),
                effects={"bans_added": effect.bans_added, "bans_removed": effect.bans_removed,
                         "links_added": effect.links_added, "links_removed": effect.links_removed,
                         "previous_links": previous_links, **effect.summary}),
            undone=(undone, command_id) if undone is not None else None,
            bans_added=[(entry, actor) for entry in effect.bans_added],
            bans_removed=effect.bans_removed,
            links_added=effect.links_added,
            links_removed=effect.links_removed,
        )
        befores = [(before, after) for before, after, _, _ in effect.changes]
        for _, after in befores:
            self._index(after)
        self._stored_bans |= set(effect.bans_added)
        self._stored_bans -= set(effect.bans_removed)
        for ident in effect.links_removed:
            self.links.pop(ident, None)
        self.links.update(dict(effect.links_added))

        def undo_in_memory() -> None:
            for before, after in befores:
                current = self._questions.get(after.id)
                if current is None or current.version != after.version:
                    continue
                if before is None:
                    self._forget(after)
                else:
                    self._index(before)
            self._stored_bans -= set(effect.bans_added)
            self._stored_bans |= set(effect.bans_removed)
            for ident, _person in effect.links_added:
                self.links.pop(ident, None)
            self.links.update(previous_links)

        await self._write(write, undo=undo_in_memory)
        return [after for _, after in befores]

    def _add_effect(self, command: Command, actor: str) -> Effect:
        text = clean_text(command.args.get("text", ""))
        if not text:
            raise CommandError("invalid", "a new question needs text")
        name = clean_line(command.args.get("author") or "", 200) or actor
        incoming = Incoming(
            source=Source.MANUAL, external_id=f"manual-{uuid.uuid4()}",
            author=Author(name=name, id=name.casefold()), text=text, sent_at=utc_now(),
            meta={"added_by": actor},
        )
        question = self._build(incoming, utc_now())
        effect = Effect()
        effect.changes.append((None, question, "add", {"by": actor}))
        return effect

    def _undo_effect(self, actor: str) -> tuple[Effect, int]:
        last = self.store.last_command(actor)
        if last is None:
            raise CommandError("invalid", f"{actor} has nothing to undo")
        rows = self.store.change_rows(last.id)
        draft = Draft(self)
        revert(draft, [(row.before, row.after) for row in rows], last.id)
        effect = draft.finish()
        effects = last.effects
        effect.bans_removed = [e for e in effects.get("bans_added", []) if e in self._stored_bans]
        effect.bans_added = [e for e in effects.get("bans_removed", []) if e not in self.bans]
        previous = effects.get("previous_links", {})
        effect.links_removed = [i for i, _ in effects.get("links_added", []) if i not in previous]
        effect.links_added = [(i, p) for i, p in previous.items()]
        effect.summary["undid"] = {"command": last.id, "op": last.op}
        return effect, last.id

    # --- persistence and publication -----------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _write(self, write: Write, undo: Any) -> asyncio.Future[None]:
        published = [Change(seq=row.seq, question=row.after) for row in write.changes]
        write.on_commit = lambda: self._publish(published)
        write.on_error = lambda _exc: undo()
        return self.store.write(write)

    def _publish(self, changes: list[Change]) -> None:
        for subscriber in list(self._subscribers):
            subscriber._offer(changes)

    def subscribe(self, since: int | None = None, *, buffer: int = 50_000) -> Subscription:
        """Changes after `since` in seq order, then live ones; `since=None` starts with a
        Snapshot of every question. A subscriber that falls more than `buffer` changes behind
        catches up from the store by itself."""
        self._require_started()
        subscription = Subscription(self, since, buffer)
        self._subscribers.add(subscription)
        return subscription

    def _require_started(self) -> None:
        if not self._started:
            raise StoreError("the queue is not started (await queue.start())")


def _own_entries(q: Question) -> list[str]:
    """The ban-list entries naming `q`'s author directly (links are resolved at lookup)."""
    entries = [str(q.identity)]
    if q.author.email:
        entries.append(f"email:{q.author.email.lower()}")
    return entries
