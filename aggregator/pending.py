"""The state a batch is decided against: what is committed, plus the batch's own earlier effects.

The queue's owner task (queue.py) decides the items of a batch one after another. Each must
see what the items before it did (an approve after a submit in the same batch finds the new
question), yet nothing may reach the queue's memory before it is on disk. `Pending` is that
overlay: it reads through to the committed state and keeps the batch's changes apart. When
the batch is committed the queue applies the same changes to its memory; when it is not, the
overlay is simply dropped: there is nothing to roll back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .commands import Effect
from .model import Question, Status
from .people_ops import is_banned, own_entries

if TYPE_CHECKING:
    from .queue import QuestionQueue

_UNSET = object()


class Pending:
    """Implements commands.QueueView over the committed queue plus this batch's changes."""

    def __init__(self, committed: QuestionQueue) -> None:
        self.committed = committed
        self._questions: dict[int, Question] = {}
        self._created: dict[tuple[str, str], int] = {}
        self._entries: dict[str, list[int]] = {}
        self._host_delta = 0
        self._live: object = _UNSET
        self._bans: set[str] | None = None
        self._links: dict[str, str] | None = None
        self.seq = committed.seq
        self.command_id = committed.command_id
        self.next_id = committed.next_id

    # --- counters, continuing from the committed ones --------------------------------------

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def next_command_id(self) -> int:
        self.command_id += 1
        return self.command_id

    def new_question_id(self) -> int:
        qid = self.next_id
        self.next_id += 1
        return qid

    # --- commands.QueueView ----------------------------------------------------------------

    @property
    def bans(self) -> set[str]:
        return self._bans if self._bans is not None else self.committed.bans

    @property
    def config_bans(self) -> frozenset[str]:
        return self.committed.config_bans

    @property
    def links(self) -> dict[str, str]:
        return self._links if self._links is not None else self.committed.links

    def get(self, question_id: int) -> Question | None:
        mine = self._questions.get(question_id)
        return mine if mine is not None else self.committed.get(question_id)

    def host_ids(self) -> list[int]:
        if not self._questions:
            return self.committed.host_ids()
        ids = set(self.committed.host_ids())
        for qid, q in self._questions.items():
            if q.status is Status.QUEUED:
                ids.add(qid)
            else:
                ids.discard(qid)
        return sorted(ids, key=lambda qid: self.get(qid).rank or 0)  # type: ignore[union-attr]

    def host_count(self) -> int:
        return self.committed.host_count() + self._host_delta

    def live_id(self) -> int | None:
        return self.committed.live_id() if self._live is _UNSET else self._live  # type: ignore[return-value]

    def ids_for_entry(self, entry: str) -> Iterable[int]:
        created = self._entries.get(entry)
        committed = self.committed.ids_for_entry(entry)
        return [*committed, *created] if created else committed

    # --- what ingestion needs --------------------------------------------------------------

    def find(self, source: str, external_id: str) -> Question | None:
        qid = self._created.get((source, external_id))
        return self.get(qid) if qid is not None else self.committed.find(source, external_id)

    def is_banned(self, question: Question) -> bool:
        return is_banned(question, self.bans, self.links)

    # --- recording the batch's effects -----------------------------------------------------

    def put(self, question: Question, *, created: bool = False) -> None:
        previous = None if created else self.get(question.id)
        was_queued = previous is not None and previous.status is Status.QUEUED
        self._host_delta += (question.status is Status.QUEUED) - was_queued
        if question.status is Status.LIVE:
            self._live = question.id
        elif self.live_id() == question.id:
            self._live = None
        self._questions[question.id] = question
        if created:
            self._created[(question.source, question.external_id)] = question.id
            for entry in own_entries(question):
                self._entries.setdefault(entry, []).append(question.id)

    def record(self, effect: Effect) -> None:
        """Take in a decided command's effect (questions, bans, links)."""
        for before, after, _action, _detail in effect.changes:
            self.put(after, created=before is None)
        if effect.bans_added or effect.bans_removed:
            self._bans = (self.bans | set(effect.bans_added)) - set(effect.bans_removed)
        if effect.links_added or effect.links_removed:
            links = dict(self.links)
            for ident in effect.links_removed:
                links.pop(ident, None)
            links.update(dict(effect.links_added))
            self._links = links
