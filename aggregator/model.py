"""The question and its status machine, as plain data.

Every field name here is a contract: the store, the moderators' websocket frames and the JSON
export carry these names, and exports written by one version are imported by the next
(aggregator/importer.py). Structs are frozen: a command's handler (aggregator/commands.py)
makes the changed question with `msgspec.structs.replace`, so the store keeps the before and
after of every change.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

import msgspec



class Source(enum.StrEnum):
    YOUTUBE = "youtube"
    ZOOM = "zoom"
    EMAIL = "email"
    MANUAL = "manual"
    ZOOM_QA = "zoom_qa"


def _shared(text: str) -> str:
    """One object per source name (`source` is one of a handful of values); a `Source`
    member passed in is kept as it is."""
    return _SOURCE_NAMES.get(text, text) if type(text) is str else text


class Status(enum.StrEnum):
    NEW = "new"
    QUEUED = "queued"
    LIVE = "live"
    ANSWERED = "answered"
    FOLLOW_UP = "follow_up"
    DISMISSED = "dismissed"
    MERGED = "merged"


_SOURCE_NAMES = {source.value: source.value for source in Source}

#: Statuses a question can still be acted on from (shown to moderators as "open").
OPEN_STATUSES = frozenset({Status.NEW, Status.QUEUED, Status.LIVE})

#: The reasons a moderator picks from; any other non-empty text is accepted as a free reason.
DISMISS_REASONS = (
    "off_topic",
    "duplicate",
    "disrespectful",
    "case_specific",
    "spam",
    "not_a_question",
    "banned",
    "withdrawn",
)


class Identity(msgspec.Struct, frozen=True, order=True, gc=False):
    """Who asked, as `(source, author id)`; written `youtube:UC123` in config and bans."""

    source: str
    id: str

    def __str__(self) -> str:
        return f"{self.source}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Identity:
        source, sep, ident = text.partition(":")
        if not sep or not source or not ident:
            raise ValueError(f"identity {text!r} must look like 'source:id', e.g. 'youtube:UC123'")
        return cls(source.strip().lower(), ident.strip())


class Author(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    name: str
    id: str
    email: str | None = None
    url: str | None = None


class Asker(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One person who asked a question; a merge adds the askers of the merged question."""

    source: str
    name: str
    id: str
    email: str | None = None
    question: int | None = None  # the question they asked it in (after merges)
    #: they asked it privately (a Zoom message to the host alone): public surfaces never name
    #: them, also after their question was merged into a public one
    private: bool = False

    @property
    def identity(self) -> Identity:
        return Identity(self.source, self.id)


class Hint(msgspec.Struct, frozen=True, gc=False):
    """A duplicate hint: an open question that says much the same (triage/similar.py)."""

    id: int
    score: float  # 0..1, three decimals


class HistoryEntry(msgspec.Struct, frozen=True, gc=False):
    at: str
    actor: str
    action: str
    detail: dict[str, Any] = {}


# gc=False: a meeting holds up to ~100,000 of these for hours and they never form reference
# cycles, so keeping them out of the cyclic collector removes its long pauses (the p99 of a
# durable submit went from ~30 ms to ~12 ms at 100 concurrent submitters; BENCHMARKS.md).
class Question(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: int
    source: str
    external_id: str
    author: Author
    text: str
    edited_text: str | None = None
    sent_at: str | None = None
    received_at: str
    went_live_at: str | None = None  # the last time it went live (the notes' time link)
    answered_at: str | None = None  # the last time it was marked answered
    status: Status = Status.NEW
    dismiss_reason: str | None = None
    rank: int | None = None
    starred: bool = False
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    note: str | None = None
    merged_into: int | None = None
    askers: tuple[Asker, ...] = ()
    likely_question: float = 0.0
    flags: tuple[str, ...] = ()
    similar: tuple[Hint, ...] = ()  # duplicate hints, best first
    meta: dict[str, Any] = {}
    version: int = 1
    history: tuple[HistoryEntry, ...] = ()

    def __post_init__(self) -> None:
        """Runs on build, decode and replace. Memory at 100,000 questions: equal strings that
        every decoded question would hold its own copy of are shared. Only equal values are
        swapped in, so nothing observable changes."""
        force = msgspec.structs.force_setattr
        force(self, "source", _shared(self.source))
        if self.askers:
            asker, author = self.askers[0], self.author
            if (asker.name == author.name and asker.id == author.id
                    and asker.source == self.source):
                force(asker, "name", author.name)
                force(asker, "id", author.id)
                force(asker, "source", self.source)

    @property
    def identity(self) -> Identity:
        return Identity(self.source, self.author.id)

    @property
    def display_text(self) -> str:
        """The wording the host reads: the moderator's edit when there is one."""
        return self.edited_text if self.edited_text else self.text

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_dict(self, *, with_history: bool = True) -> dict[str, Any]:
        data = msgspec.to_builtins(self)
        if not with_history:
            data.pop("history", None)
        return data

    def exported(self) -> dict[str, Any]:
        """The question as the JSON export writes it (a mapping for `encode_json`): duplicate
        hints under `meta["similar"]`, where exports have always had them (and the importer
        reads them back from)."""
        data = msgspec.structs.asdict(self)  # shallow: nested structs encode as they are
        hints = data.pop("similar")
        if hints:
            data["meta"] = {**data["meta"], "similar": list(hints)}
        return data


#: The JSON encoder for anything that holds questions.
encode_json = msgspec.json.Encoder().encode


def lift_similar(question: Question) -> Question:
    """A question whose hints sit in `meta["similar"]` (an export, or a store written before
    hints were a field) with them moved to `similar`. The list is data from outside: entries
    that are not `{"id": int, "score": number}` are dropped."""
    raw = question.meta.get("similar")
    hints: list[Hint] = []
    if isinstance(raw, list):
        for item in raw:
            if not isinstance(item, dict):
                continue
            qid, score = item.get("id"), item.get("score")
            if (type(qid) is int and isinstance(score, (int, float))
                    and not isinstance(score, bool) and 0 <= score <= 1):
                hints.append(Hint(qid, float(score)))
    meta = {k: v for k, v in question.meta.items() if k != "similar"}
    return msgspec.structs.replace(question, meta=meta, similar=(*question.similar, *hints))


class Incoming(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A message as a collector hands it to the queue, already sanitised.

    `status` and `note` let an importer (the Zoom Q&A report, a JSON import) bring in questions
    that were answered elsewhere; collectors of live chat leave them at their defaults.
    """

    source: str
    external_id: str
    author: Author
    text: str
    sent_at: str | None = None
    flags: tuple[str, ...] = ()
    meta: dict[str, Any] = {}
    status: Status = Status.NEW
    note: str | None = None


def utc_now() -> str:
    """ISO-8601 UTC with milliseconds and a Z, the one timestamp format Townhall writes."""
    return to_iso(datetime.now(timezone.utc))


def to_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the status machine -------------------------------------------------------------------------
#
# The main road: new -approve-> queued -go_live-> live -answered-> answered; dismissed questions can
# be restored, answered and follow_up ones reopened, a live one requeued. Beyond it we allow a few
# more edges a moderator needs mid-call, each reversible with `undo`: dismiss also from the host
# list and the follow-up list (a question turns out to be spam after approval), follow_up also
# straight from new or live (a question sent in advance that the call will not reach), answered also
# from the host list (covered by an earlier answer). Merging is allowed from every status that is
# not final.

_OPEN_OR_LATER = frozenset({Status.NEW, Status.QUEUED, Status.FOLLOW_UP})

TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "approve": (frozenset({Status.NEW}), Status.QUEUED),
    "dismiss": (_OPEN_OR_LATER, Status.DISMISSED),
    "restore": (frozenset({Status.DISMISSED}), Status.NEW),
    "go_live": (frozenset({Status.QUEUED}), Status.LIVE),
    "answered": (frozenset({Status.LIVE, Status.QUEUED}), Status.ANSWERED),
    "requeue": (frozenset({Status.LIVE}), Status.QUEUED),
    "follow_up": (frozenset({Status.NEW, Status.QUEUED, Status.LIVE}), Status.FOLLOW_UP),
    "reopen": (frozenset({Status.ANSWERED, Status.FOLLOW_UP}), Status.QUEUED),
    "merge": (_OPEN_OR_LATER, Status.MERGED),
}


class IllegalTransition(ValueError):
    """A command that the question's status does not allow."""

    def __init__(self, question_id: int, status: Status, command: str) -> None:
        allowed = TRANSITIONS.get(command, (frozenset(), None))[0]
        hint = ", ".join(sorted(allowed)) or "no status"
        super().__init__(
            f"#{question_id} is {status}; '{command}' applies only to a question that is {hint}"
        )
        self.question_id = question_id
        self.status = status
        self.command = command


def next_status(question: Question, command: str) -> Status:
    """The status `command` moves `question` to, or IllegalTransition."""
    allowed, target = TRANSITIONS[command]
    if question.status not in allowed:
        raise IllegalTransition(question.id, question.status, command)
    return target
