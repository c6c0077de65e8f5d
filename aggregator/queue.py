"""QuestionQueue: the one place where state changes.

Collectors `submit()`, moderators `apply()` commands, clients `subscribe()`. One asyncio task,
the queue's owner, does all of it in arrival order:

1. it takes everything waiting in its inbox as a batch;
2. decides each item against the committed state plus the batch's earlier effects
   (pending.py), so no decision ever reads a change that is not on disk;
3. writes the whole batch in one transaction on the store's writer thread (group_commit.py);
4. only then applies the committed items to memory and the indexes, publishes their changes
   to subscribers and resolves each caller.

Memory never runs ahead of the disk, so nothing is ever rolled back in memory. A write that
fails fails its caller alone: the items before it are committed, the items after it are
decided again in the next batch (they were decided in a state that included the failed one).
When the transaction itself fails, every caller of the batch gets the error and nothing of it
reaches memory or disk. First-in-first-out settles ordering: an undo takes back the actor's
last command that came before it. docs/architecture.md tells the whole path of a question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .aio import cancel_and_wait
from .commands import Command, CommandError, check
from .decisions import Decided, SubmitResult, decide_command, decide_submit
from .model import Incoming, Question, Status
from .pending import Pending
from .people_ops import canonical_identity, is_banned, own_entries
from .sanitize import clean_line
from .store import Store, StoreError
from .subscription import Change, Subscription
from .triage.rules import Assessment
from .triage.similar import DuplicateIndex


class Triage(Protocol):
    """Pure rules applied at ingestion (aggregator/triage/); the queue only needs this one call."""

    def assess(self, text: str, source: str) -> Assessment: ...


class _NoTriage:
    def assess(self, text: str, source: str) -> Assessment:
        return Assessment(0.5)


log = logging.getLogger(__name__)

#: up to this many questions at start the duplicate-hint index is built before start() returns
SIMILAR_SYNC_LIMIT = 5_000
#: commands decided against what is committed (the audit log, the meeting facts)
READS_COMMITTED = frozenset({"undo", "end_meeting", "recording_started"})
#: at most this many inbox items are decided and written together
MAX_BATCH = 2_000


@dataclass
class Checkpoint:
    """A collector's position at its source, committed with the messages it covers."""

    name: str
    value: Any


@dataclass(slots=True)
class _Item:
    """One inbox entry: a submit (`incomings`), a command, or a flush (neither)."""

    future: asyncio.Future[Any]
    incomings: Sequence[Incoming] = ()
    checkpoint: Checkpoint | None = None
    command: Command | None = None
    actor: str = ""

    @property
    def starts_batch(self) -> bool:
        return self.command is not None and self.command.op in READS_COMMITTED


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
        self._inbox: deque[_Item] = deque()
        self._arrived = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None
        self._closing = False
        self._subscribers: set[Subscription] = set()
        # duplicate hints (triage.similar): follows every open question through _index
        self.similar = DuplicateIndex()
        self._tracking = True
        self._similar_fill: asyncio.Task[None] | None = None
        self.similar_fill_delay = 2.0

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._owner is not None

    async def start(self) -> None:
        """Rebuild the in-memory queue from the store; start its writer and its owner task."""
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
        self._closing = False
        self._owner = asyncio.create_task(self._run(), name="queue-owner")

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
        """Finish what is in the inbox, then stop the owner task and background work.

        From the moment close() is called nothing new is accepted (StoreError), so once the
        last item is written the owner is idle and stopping it cancels no commit in flight.
        """
        if self._owner is not None and not self._owner.done():
            last = _Item(self._future())
            self._inbox.append(last)
            self._arrived.set()
            self._closing = True
            with contextlib.suppress(Exception):
                await last.future
        owner, self._owner = self._owner, None
        task, self._similar_fill = self._similar_fill, None
        await cancel_and_wait([owner, task])
        while self._inbox:  # only if the owner had died: nobody is left waiting for ever
            _settle(self._inbox.popleft().future, error=StoreError("the queue was closed"))

    async def flush(self) -> None:
        """Wait until everything handed to the queue so far is decided and on disk."""
        await self._enqueue(_Item(self._future()))

    # --- the read side (commands.QueueView) ------------------------------------------------

    @property
    def bans(self) -> set[str]:
        return self._stored_bans | self._config_bans

    @property
    def config_bans(self) -> frozenset[str]:
        return frozenset(self._config_bans)

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def command_id(self) -> int:
        return self._command_id

    @property
    def next_id(self) -> int:
        return self._next_id

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
        return is_banned(question, self.bans, self.links)

    def history(self, question_id: int) -> list[Any]:
        return self.store.history(question_id)

    def checkpoint(self, name: str) -> Any | None:
        return self.store.checkpoint(name)

    # --- the write side: everything goes through the inbox --------------------------------

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
        is a duplicate: it is not stored again, and "returned" still means "on disk".
        """
        return await self._enqueue(_Item(self._future(), incomings=list(incomings),
                                         checkpoint=checkpoint))

    async def apply(self, command: Command, actor: str) -> list[Question]:
        """Apply a moderator's (or a collector's) command; returns the changed questions.

        Raises CommandError (invalid, conflict, not_found) without changing anything, or
        StoreError when the write failed (then nothing changed either). Returns after the
        change is on disk and published.
        """
        check(command)
        actor = clean_line(actor, 100) or "unknown"
        return await self._enqueue(_Item(self._future(), command=command, actor=actor))

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _enqueue(self, item: _Item) -> Any:
        if self._owner is None:
            raise StoreError("the queue is not started (await queue.start())")
        if self._closing:
            raise StoreError("the queue is closing: nothing new is taken")
        self._inbox.append(item)
        self._arrived.set()
        # A caller cancelled before its item is decided withdraws it (the owner skips a done
        # future); once decided, it is written whether or not anybody still waits.
        return await item.future

    # --- the owner task -------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            if not self._inbox:
                self._arrived.clear()
                await self._arrived.wait()
            batch = self._take_batch()
            try:
                await self._process(batch)
            except Exception as exc:  # a bug: its callers hear of it, the queue keeps serving
                log.exception("the queue failed on a batch of %d", len(batch))
                for item in batch:
                    _settle(item.future, error=StoreError(f"the queue failed: {exc}"))

    def _take_batch(self) -> list[_Item]:
        """What is waiting, in arrival order. An undo, and a command that writes the meeting's
        own facts, start a batch of their own: they read the audit log or the meeting facts,
        which hold only what is committed, so everything before them must be on disk when
        they are decided (and a batch holds at most one of them)."""
        batch = [self._inbox.popleft()]
        while self._inbox and len(batch) < MAX_BATCH and not self._inbox[0].starts_batch:
            batch.append(self._inbox.popleft())
        return batch

    async def _process(self, batch: list[_Item]) -> None:
        pending = Pending(self)
        decided: list[Decided] = [self._decide(item, pending) for item in batch]
        writes = [d.write for d in decided if d.write is not None]
        try:
            outcome = await self.store.commit(writes) if writes else None
        except Exception as exc:  # the writer itself is gone (closed store): fail the batch
            outcome = None
            failure: StoreError | None = StoreError(f"write failed: {exc}")
        else:
            failure = None
        written = 0
        for index, (item, result) in enumerate(zip(batch, decided)):
            if failure is None and outcome is not None and outcome.error is not None:
                if outcome.failed is None:  # the transaction failed: none of it is on disk
                    failure = outcome.error
                elif result.write is not None and written == outcome.failed:
                    _settle(item.future, error=outcome.error)
                    # what came after was decided with the failed write in view: again
                    self._inbox.extendleft(reversed(batch[index + 1:]))
                    return
            if failure is not None:
                _settle(item.future, error=failure)
                continue
            if result.write is not None:
                written += 1
                self._commit_to_memory(result)
            _settle(item.future, result=result.result, error=result.error)

    def _decide(self, item: _Item, pending: Pending) -> Decided:
        if item.future.done():  # its caller was cancelled: withdrawn
            return Decided()
        try:
            if item.command is not None:
                return decide_command(self, pending, item.command, item.actor)
            if item.incomings or item.checkpoint is not None:
                return decide_submit(self, pending, item.incomings, item.checkpoint)
            return Decided(result=None)
        except CommandError as exc:
            return Decided(error=exc)
        except Exception as exc:  # a bug in a rule: this caller hears of it, the queue goes on
            return Decided(error=exc)

    def _commit_to_memory(self, decided: Decided) -> None:
        write = decided.write
        assert write is not None
        for q in write.created:
            self._index(q)
        for q in write.updated:
            self._index(q)
        self._stored_bans |= {entry for entry, _actor in write.bans_added}
        self._stored_bans -= set(write.bans_removed)
        for ident in write.links_removed:
            self.links.pop(ident, None)
        self.links.update(dict(write.links_added))
        if write.changes:
            self._seq = max(self._seq, write.changes[-1].seq)
        if write.command is not None:
            self._command_id = max(self._command_id, write.command.id)
        if write.created:
            self._next_id = max(self._next_id, max(q.id for q in write.created) + 1)
        self._publish([Change(seq=row.seq, question=row.after) for row in write.changes])

    def _index(self, q: Question) -> None:
        old = self._questions.get(q.id)
        self._questions[q.id] = q
        if self._tracking:
            self.similar.track(q)
        if old is None:
            self._by_external.setdefault(q.source, {})[q.external_id] = q.id
            for entry in own_entries(q):
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

    # --- publication (subscription.Feed) ---------------------------------------------------

    def _publish(self, changes: list[Change]) -> None:
        if changes:
            for subscriber in list(self._subscribers):
                try:
                    subscriber.offer(changes)
                except Exception:  # one broken subscriber must not stop the others
                    log.exception("a subscriber refused a change")

    def subscribe(self, since: int | None = None, *, buffer: int = 50_000) -> Subscription:
        """Changes after `since` in seq order, then live ones; `since=None` starts with a
        Snapshot of every question. A subscriber that falls more than `buffer` changes behind
        catches up from the store by itself."""
        if self._owner is None:
            raise StoreError("the queue is not started (await queue.start())")
        subscription = Subscription(self, since, buffer)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    async def snapshot(self) -> tuple[list[Question], int]:
        """Every committed question and the seq it is current as of, read from the store in a
        thread; the queue's own objects are reused where they match (one copy in memory)."""
        return await asyncio.to_thread(self.store.snapshot, self._questions)

    def changes_since(self, seq: int, limit: int) -> list[tuple[int, Question]]:
        return self.store.changes_since(seq, limit)


def _settle(future: asyncio.Future[Any], *, result: Any = None,
            error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
