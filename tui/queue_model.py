"""The moderator's views of the queue as sorted indexes, kept in step with every change.

Why not filter and sort on every repaint: at 100,000 questions that costs tens of
milliseconds per key press. Each view instead keeps a sorted list of row keys; a change moves one
question between lists with `bisect` (a memmove, microseconds), a row lookup is a list index, and
the position of a question is a binary search. The list widget renders only the visible rows.

This module is plain Python (no Textual) so it is tested and benchmarked on its own.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter

from aggregator.people_ops import ban_entries
from aggregator.model import Question, Status

#: a question at or above this score counts as "likely a question" for the likely-first order
LIKELY_THRESHOLD = 0.5

RowKey = tuple[int, ...]
_LAST = itemgetter(-1)  # a row key's question id
_QUESTION_NUMBER = re.compile(r"#(\d{1,18})", re.ASCII)


@dataclass(frozen=True)
class ViewSpec:
    """One tab of the moderator screen: which questions it holds and in which order."""

    id: str
    title: str
    statuses: frozenset[Status] | None  # None: every status
    newest_first: bool = True  # arrivals land at the top (the "N new" logic applies)


VIEWS: tuple[ViewSpec, ...] = (
    ViewSpec("incoming", "Incoming", frozenset({Status.NEW})),
    ViewSpec("host", "Host list", frozenset({Status.QUEUED, Status.LIVE}), newest_first=False),
    ViewSpec("answered", "Answered", frozenset({Status.ANSWERED})),
    ViewSpec("follow_up", "Follow-up", frozenset({Status.FOLLOW_UP})),
    ViewSpec("dismissed", "Dismissed", frozenset({Status.DISMISSED})),
    ViewSpec("all", "All", None),
)
VIEW_BY_ID = {spec.id: spec for spec in VIEWS}


def newest_first_key(q: Question) -> RowKey:
    return (-q.id, q.id)


def likely_first_key(q: Question) -> RowKey:
    return (0 if q.likely_question >= LIKELY_THRESHOLD else 1, -q.id, q.id)


def host_key(q: Question) -> RowKey:
    # The live question on top, then the host list in rank order.
    return (0 if q.status is Status.LIVE else 1, q.rank or 0, q.id)


class ViewIndex:
    """The questions one view shows, as row keys sorted ascending; the last item is the id."""

    def __init__(self, accepts: Callable[[Question], bool], key: Callable[[Question], RowKey],
                 questions: Iterable[Question] = ()) -> None:
        self.accepts = accepts
        self.key = key
        self._key_of: dict[int, RowKey] = {}
        self._keys: list[RowKey] = []
        self.rebuild(questions)

    def rebuild(self, questions: Iterable[Question]) -> None:
        self._key_of = {q.id: self.key(q) for q in questions if self.accepts(q)}
        self._keys = sorted(self._key_of.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, question_id: int) -> bool:
        return question_id in self._key_of

    def id_at(self, row: int) -> int:
        return self._keys[row][-1]

    def ids(self, start: int, stop: int) -> list[int]:
        return [key[-1] for key in self._keys[start:stop]]

    def row_of(self, question_id: int) -> int | None:
        key = self._key_of.get(question_id)
        if key is None:
            return None
        return bisect.bisect_left(self._keys, key)

    def matching(self, needle: str, haystack: dict[int, str],
                 accepts: Callable[[Question], bool]) -> ViewIndex:
        """The rows whose haystack contains `needle`, in the same order (no re-sort)."""
        sub = ViewIndex(accepts, self.key)
        sub._keys = [key for key in self._keys if needle in haystack[key[-1]]]
        sub._key_of = dict(zip(map(_LAST, sub._keys), sub._keys))
        return sub

    def only(self, question_id: int, accepts: Callable[[Question], bool]) -> ViewIndex:
        """The row of one question (none if this view does not hold it)."""
        sub = ViewIndex(accepts, self.key)
        key = self._key_of.get(question_id)
        sub._keys = [key] if key is not None else []
        sub._key_of = dict(zip(map(_LAST, sub._keys), sub._keys))
        return sub

    def update(self, old: Question | None, new: Question) -> tuple[int | None, int | None]:
        """Apply one change; returns (row removed from, row inserted at), each None if none."""
        removed = inserted = None
        old_key = self._key_of.pop(new.id, None)
        if old_key is not None:
            removed = bisect.bisect_left(self._keys, old_key)
            del self._keys[removed]
        if self.accepts(new):
            key = self.key(new)
            self._key_of[new.id] = key
            inserted = bisect.bisect_left(self._keys, key)
            self._keys.insert(inserted, key)
        return removed, inserted


class NewestFirstIndex:
    """A view in arrival order, newest first: its question ids, ascending, and nothing else.

    The same interface as ViewIndex, for the views that sort by id alone (all but the host
    list and likely-first). Why: a row key tuple and a dict entry per question cost ~170 bytes;
    at 100,000 questions in two such views that was ~30 MB of a 400 MB budget. Row r is
    ids[-1 - r]; membership and positions are binary searches.
    """

    def __init__(self, accepts: Callable[[Question], bool],
                 questions: Iterable[Question] = ()) -> None:
        self.accepts = accepts
        self._ids: list[int] = []
        self.rebuild(questions)

    def rebuild(self, questions: Iterable[Question]) -> None:
        self._ids = sorted(q.id for q in questions if self.accepts(q))

    def __len__(self) -> int:
        return len(self._ids)

    def _index(self, question_id: int) -> int | None:
        ids = self._ids
        at = bisect.bisect_left(ids, question_id)
        return at if at < len(ids) and ids[at] == question_id else None

    def __contains__(self, question_id: int) -> bool:
        return self._index(question_id) is not None

    def id_at(self, row: int) -> int:
        return self._ids[-1 - row]

    def ids(self, start: int, stop: int) -> list[int]:
        n = len(self._ids)
        start, stop = max(0, min(start, n)), max(0, min(stop, n))
        return self._ids[n - stop:n - start][::-1]

    def row_of(self, question_id: int) -> int | None:
        at = self._index(question_id)
        return None if at is None else len(self._ids) - 1 - at

    def matching(self, needle: str, haystack: dict[int, str],
                 accepts: Callable[[Question], bool]) -> NewestFirstIndex:
        sub = NewestFirstIndex(accepts)
        sub._ids = [qid for qid in self._ids if needle in haystack[qid]]
        return sub

    def only(self, question_id: int, accepts: Callable[[Question], bool]) -> NewestFirstIndex:
        """The row of one question (none if this view does not hold it)."""
        sub = NewestFirstIndex(accepts)
        sub._ids = [question_id] if question_id in self else []
        return sub

    def update(self, old: Question | None, new: Question) -> tuple[int | None, int | None]:
        """Apply one change; returns (row removed from, row inserted at), each None if none."""
        removed = inserted = None
        ids = self._ids
        at = self._index(new.id)
        if at is not None:
            removed = len(ids) - 1 - at
            del ids[at]
        if self.accepts(new):
            if not ids or ids[-1] < new.id:  # an arrival: the newest of all
                ids.append(new.id)
                inserted = 0
            else:
                at = bisect.bisect_left(ids, new.id)
                ids.insert(at, new.id)
                inserted = len(ids) - 1 - at
        return removed, inserted


AnyIndex = ViewIndex | NewestFirstIndex


def _status_filter(spec: ViewSpec) -> Callable[[Question], bool]:
    statuses = spec.statuses
    if statuses is None:
        return lambda q: True
    return lambda q: q.status in statuses


def question_number(query: str) -> int | None:
    """N for a search of exactly "#N" (a jump to one question), else None."""
    match = _QUESTION_NUMBER.fullmatch(query.strip())
    return int(match.group(1)) if match else None


def search_haystack(q: Question) -> str:
    """What `/` searches: number, both wordings, author, tags, assignee, note, case-folded."""
    parts = [f"#{q.id}", q.text, q.edited_text or "", q.author.name, q.author.email or "",
             " ".join(q.tags), q.assignee or "", q.note or "", q.source]
    return "\n".join(parts).casefold()


@dataclass
class BatchResult:
    """What one batch of changes did to the current view, so the list can keep its place."""

    ops: list[tuple[str, int]]  # ("del" | "ins", row) in the order applied
    created: int  # questions that did not exist before the batch


class QueueModel:
    """Every question the client has told us about, and the six views over them."""

    def __init__(self) -> None:
        self.questions: dict[int, Question] = {}
        self.likely_first = False
        self.indexes: dict[str, AnyIndex] = {spec.id: self._index_for(spec) for spec in VIEWS}
        self.current = "incoming"
        self.query: str = ""
        self._search: AnyIndex | None = None
        self._haystack: dict[int, str] = {}
        self.seq = 0
        #: source -> id of its newest question (ids grow with arrival): the status line's
        #: "last message" age per source, for remote moderators too
        self.newest_by_source: dict[str, int] = {}

    def _index_for(self, spec: ViewSpec, questions: Iterable[Question] = ()) -> AnyIndex:
        key = self._key_for(spec)
        if key is newest_first_key:
            return NewestFirstIndex(_status_filter(spec), questions)
        return ViewIndex(_status_filter(spec), key, questions)

    def _key_for(self, spec: ViewSpec) -> Callable[[Question], RowKey]:
        if spec.id == "host":
            return host_key
        if spec.id == "incoming" and self.likely_first:
            return likely_first_key
        return newest_first_key

    # --- loading and changes -------------------------------------------------------------

    def load(self, questions: Iterable[Question], seq: int = 0) -> None:
        self.questions = {q.id: q for q in questions}
        self._haystack = {}
        self.seq = seq
        newest: dict[str, int] = {}
        for q in self.questions.values():
            if q.id > newest.get(q.source, -1):
                newest[q.source] = q.id
        self.newest_by_source = newest
        for index in self.indexes.values():
            index.rebuild(self.questions.values())
        self._rebuild_search()

    def apply(self, changes: Iterable[Question]) -> BatchResult:
        """Apply changed questions in order; report the current view's row moves."""
        result = BatchResult([], 0)
        for new in changes:
            old = self.questions.get(new.id)
            if old is not None and old.version > new.version:
                continue  # an older copy arriving late (a catch-up overlapping a snapshot)
            if old is None:
                result.created += 1
                if new.id > self.newest_by_source.get(new.source, -1):
                    self.newest_by_source[new.source] = new.id
            self.questions[new.id] = new
            if new.id in self._haystack or old is None:
                self._haystack[new.id] = search_haystack(new)
            for view_id, index in self.indexes.items():
                removed, inserted = index.update(old, new)
                if view_id == self.current and self._search is None:
                    self._note(result, removed, inserted)
            if self._search is not None:
                removed, inserted = self._search.update(old, new)
                self._note(result, removed, inserted)
        return result

    @staticmethod
    def _note(result: BatchResult, removed: int | None, inserted: int | None) -> None:
        if removed is not None:
            result.ops.append(("del", removed))
        if inserted is not None:
            result.ops.append(("ins", inserted))

    # --- the current view --------------------------------------------------------------

    @property
    def spec(self) -> ViewSpec:
        return VIEW_BY_ID[self.current]

    @property
    def view(self) -> AnyIndex:
        return self._search if self._search is not None else self.indexes[self.current]

    def counts(self) -> dict[str, int]:
        return {view_id: len(index) for view_id, index in self.indexes.items()}

    def switch(self, view_id: str) -> None:
        if view_id not in VIEW_BY_ID:
            raise KeyError(view_id)
        self.current = view_id
        self._rebuild_search()

    def set_likely_first(self, on: bool) -> None:
        self.likely_first = on
        spec = VIEW_BY_ID["incoming"]
        self.indexes["incoming"] = self._index_for(spec, self.questions.values())
        self._rebuild_search()

    def search(self, query: str) -> None:
        """Narrow the current view to questions containing `query` ("" clears)."""
        self.query = query.strip()
        self._rebuild_search()

    def _haystack_of(self, q: Question) -> str:
        hay = self._haystack.get(q.id)
        if hay is None:
            hay = self._haystack[q.id] = search_haystack(q)
        return hay

    def prepare_search(self, budget: int | None = None) -> bool:
        """Build the search haystacks, at most `budget` of them now; True once all are built.

        The screen calls this in small steps while idle after loading, so the first search does
        not pay ~0.2 s for 100,000 of them; after that apply() keeps them current.
        """
        hay = self._haystack
        if len(hay) >= len(self.questions):
            return True
        missing = (q for q in self.questions.values() if q.id not in hay)
        for q in islice(missing, budget):
            hay[q.id] = search_haystack(q)
        return len(hay) >= len(self.questions)

    def _rebuild_search(self) -> None:
        if not self.query:
            self._search = None
            return
        base = self.indexes[self.current]
        accepts = base.accepts
        number = question_number(self.query)
        if number is not None:  # "#2" is question 2, not every number that starts with 2
            self._search = base.only(number, lambda q: accepts(q) and q.id == number)
            return
        needle = self.query.casefold()
        self.prepare_search()
        self._search = base.matching(
            needle, self._haystack, lambda q: accepts(q) and needle in self._haystack_of(q))

    def view_holding(self, question_id: int) -> str | None:
        """The id of the first view that shows question `question_id` (None: unknown id)."""
        if question_id not in self.questions:
            return None
        return next(view_id for view_id, index in self.indexes.items()
                    if question_id in index)


class ModelQueueView:
    """The model read as the queue's state (commands.QueueView), to preview a command.

    Why: a dialog that says what a command will do must ask the command's own rule
    (`commands.decide`) rather than repeat it, or the two drift apart (a ban preview that ignored
    linked identities said "affects 1" while the ban dismissed 2). The ban list and identity
    links come from the client; the questions are the ones this screen shows.
    """

    def __init__(self, model: QueueModel, bans: Iterable[str] = (),
                 links: dict[str, str] | None = None) -> None:
        self.model = model
        self.bans = set(bans)
        self.links = dict(links or {})
        self.config_bans: frozenset[str] = frozenset()  # the preview only bans
        self._by_entry: dict[str, list[int]] | None = None

    def get(self, question_id: int) -> Question | None:
        return self.model.questions.get(question_id)

    def host_ids(self) -> list[int]:
        host = self.model.indexes["host"]
        ids = host.ids(0, len(host))
        return [qid for qid in ids if self.model.questions[qid].status is Status.QUEUED]

    def host_count(self) -> int:
        return len(self.host_ids())

    def live_id(self) -> int | None:
        host = self.model.indexes["host"]
        ids = host.ids(0, 1)
        if ids and self.model.questions[ids[0]].status is Status.LIVE:
            return ids[0]
        return None

    def ids_for_entry(self, entry: str) -> Iterable[int]:
        """Open questions (new, queued, live) whose author the ban-list `entry` names.

        Only open ones: they are all a ban changes, and there are far fewer of them than
        questions. The entries of a question are the ban rule's own (`ban_entries`).
        """
        if self._by_entry is None:
            by_entry: dict[str, list[int]] = {}
            for view_id in ("incoming", "host"):
                index = self.model.indexes[view_id]
                for qid in index.ids(0, len(index)):
                    for own in ban_entries(self.model.questions[qid], {}):
                        by_entry.setdefault(own, []).append(qid)
            self._by_entry = by_entry
        return sorted(self._by_entry.get(entry, ()))
