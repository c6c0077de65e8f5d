"""What each command does to the queue's state, as pure functions (no I/O, no await).

A command reads the current state through `QueueView` and returns an `Effect`: the questions it
changes (each at most once, before and after), and the ban-list and identity-link changes. The
queue (queue.py) then assigns sequence numbers, persists and publishes. Keeping this pure makes
every transition testable on its own and keeps queue.py about concurrency and durability.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from .model import (
    Asker,
    Question,
    Status,
    next_status,
    utc_now,
)
from .roles import may_send
from .sanitize import clean_line, clean_text

MAX_TAGS = 20
MAX_NOTE = 2_000

#: ops that name no question (`question` is null)
QUESTIONLESS_OPS = frozenset({"next", "unban", "undo", "add", "flag_author", "link", "unlink",
                              "end_meeting", "recording_started"})

#: ops the queue decides itself (they read the audit log or build a new question)
QUEUE_OPS = frozenset({"undo", "add"})

#: the largest id SQLite can store (a 64-bit signed INTEGER); a larger number names no question
#: and would fail the write after everything was decided, so it is refused at the door
MAX_ID = 2**63 - 1


class CommandError(Exception):
    """A refused command. `code` is the protocol's: invalid, conflict, forbidden, not_found."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Command(msgspec.Struct, frozen=True, kw_only=True):
    op: str
    question: int | None = None
    args: dict[str, Any] = {}
    if_version: int | None = None

    @classmethod
    def sent_by(cls, role: str, op: str, question: int | None, args: dict[str, Any],
                if_version: int | None) -> Command:
        """The command a client in `role` sent (local TUI or websocket): "forbidden" when the
        role may not send it (roles.py), "invalid" when it is malformed (`check`)."""
        if not may_send(role, op):
            raise CommandError("forbidden", f"a {role} may not '{op}'")
        command = cls(op=op, question=question, args=args, if_version=if_version)
        check(command)
        return command


def _is_count(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_ID


def check(command: Command) -> None:
    """Refuse a malformed command before anything is decided: an unknown op, a `question` on an
    op that names none or a missing or impossible one on an op that needs one, a bad
    `if_version`, `args` that are not an object. Whether the question exists is decided later,
    against the state of the moment (`not_found`)."""
    op = command.op
    if op not in HANDLERS and op not in QUEUE_OPS:
        raise CommandError("invalid", f"unknown command {op!r}")
    if op in QUESTIONLESS_OPS:
        if command.question is not None:
            raise CommandError("invalid", f"'{op}' names no question: send question null")
    elif not _is_count(command.question, 1):
        raise CommandError("invalid", f"'{op}' needs a question number (1 to {MAX_ID})")
    if command.if_version is not None and not _is_count(command.if_version, 0):
        raise CommandError("invalid", "if_version must be a question's version (0 or more)")
    if not isinstance(command.args, dict):
        raise CommandError("invalid", "args must be an object")


class QueueView(Protocol):
    """The read side of the queue that commands need."""

    bans: set[str]
    links: dict[str, str]
    config_bans: frozenset[str]  # bans the config file sets: lifted there, not by a command

    def get(self, question_id: int) -> Question | None: ...
    def host_ids(self) -> list[int]: ...
    def host_count(self) -> int: ...
    def live_id(self) -> int | None: ...
    def ids_for_entry(self, entry: str) -> Iterable[int]: ...


@dataclass
class Effect:
    """What one command changes. `changes` holds (before, after, action, detail) per question."""

    changes: list[tuple[Question | None, Question, str, dict[str, Any]]] = field(
        default_factory=list)
    bans_added: list[str] = field(default_factory=list)
    bans_removed: list[str] = field(default_factory=list)
    links_added: list[tuple[str, str]] = field(default_factory=list)
    links_removed: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    #: facts of the meeting itself (its end, the recording's start): key -> value, None deletes
    meeting: dict[str, str | None] = field(default_factory=dict)


class Draft:
    """A command's working copy: edits accumulate per question, each bumps the version once."""

    def __init__(self, view: QueueView, now: str | None = None) -> None:
        self.view = view
        self.now = now or utc_now()  # the command's moment (went_live_at, answered_at, ...)
        self._before: dict[int, Question | None] = {}
        self._now: dict[int, Question] = {}
        self._action: dict[int, tuple[str, dict[str, Any]]] = {}
        self._host: list[int] | None = None
        self._appended: list[int] = []  # joined at the end while the list is not materialised
        self.effect = Effect()

    def get(self, qid: int) -> Question:
        q = self._now.get(qid) or self.view.get(qid)
        if q is None:
            raise CommandError("not_found", f"there is no question #{qid}")
        return q

    def update(self, qid: int, action: str, detail: dict[str, Any] | None = None,
               **fields: Any) -> Question:
        current = self.get(qid)
        self._before.setdefault(qid, current)
        self._action.setdefault(qid, (action, detail or {}))
        updated = msgspec.structs.replace(current, **fields)
        self._now[qid] = updated
        return updated

    def create(self, question: Question, action: str, detail: dict[str, Any]) -> None:
        self._before[question.id] = None
        self._now[question.id] = question
        self._action[question.id] = (action, detail)

    # The host list: queued questions in rank order, renumbered 0..n-1 when the command ends.
    # Most commands only append to it or do not touch it, so the full ordered list is built only
    # when a command moves something inside it: approving stays O(1) with a long host list.
    @property
    def host(self) -> list[int]:
        if self._host is None:
            self._host = [*self.view.host_ids(), *self._appended]
            self._appended = []
        return self._host

    def _on_host(self, qid: int) -> bool:
        original = self.view.get(qid)
        return (original is not None and original.status is Status.QUEUED) or qid in self._appended

    def leave_host(self, qid: int) -> None:
        if self._host is None and not self._on_host(qid):
            return
        if qid in self.host:
            self.host.remove(qid)

    def join_host(self, qid: int, position: int | None = None) -> None:
        if self._host is None and position is None and not self._on_host(qid):
            self._appended.append(qid)
            return
        self.leave_host(qid)
        if position is None or position >= len(self.host):
            self.host.append(qid)
        else:
            self.host.insert(max(position, 0), qid)

    def finish(self) -> Effect:
        base = self.view.host_count()
        for offset, qid in enumerate(self._appended):
            self.update(qid, "rank", {"rank": base + offset}, rank=base + offset)
        if self._host is not None:
            for rank, qid in enumerate(self._host):
                if self.get(qid).rank != rank:
                    self.update(qid, "rank", {"rank": rank}, rank=rank)
        for qid, after in self._now.items():
            before = self._before[qid]
            if before is not None:
                if after == before:
                    continue
                after = msgspec.structs.replace(after, version=before.version + 1)
            action, detail = self._action[qid]
            self.effect.changes.append((before, after, action, detail))
        return self.effect


# --- the commands --------------------------------------------------------------------------

Handler = Callable[[Draft, Command, str], None]
HANDLERS: dict[str, Handler] = {}


def handler(*ops: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for op in ops:
            HANDLERS[op] = fn
        return fn
    return register


def decide(view: QueueView, command: Command, actor: str, now: str | None = None) -> Effect:
    """The effect of `command` on the state `view`, or CommandError. Never mutates `view`.
    `now` is the command's moment as the audit log records it (default: the clock)."""
    check(command)
    fn = HANDLERS[command.op]
    if command.op not in QUESTIONLESS_OPS:
        assert command.question is not None
        q = view.get(command.question)
        if q is None:
            raise CommandError("not_found", f"there is no question #{command.question}")
        if command.if_version is not None and q.version != command.if_version:
            raise CommandError(
                "conflict",
                f"#{q.id} changed meanwhile (version {q.version}, you saw {command.if_version})",
            )
    draft = Draft(view, now)
    fn(draft, command, actor)
    return draft.finish()


def _target(draft: Draft, command: Command) -> Question:
    assert command.question is not None
    return draft.get(command.question)


def _move(draft: Draft, q: Question, op: str, detail: dict[str, Any] | None = None,
          **fields: Any) -> Question:
    """Apply the status machine for `op` to `q`, keeping the host list in step."""
    try:
        status = next_status(q, op)
    except ValueError as exc:
        raise CommandError("invalid", str(exc)) from None
    if status is not Status.QUEUED:
        draft.leave_host(q.id)
        fields.setdefault("rank", None)
    if status is Status.LIVE:
        fields.setdefault("went_live_at", draft.now)
    elif status is Status.ANSWERED:
        fields.setdefault("answered_at", draft.now)
    return draft.update(q.id, op, detail, status=status, **fields)


def _confirmed_private(q: Question, command: Command) -> dict[str, Any]:
    """A private message (sent to the host alone, say) reaches the host list only once a
    moderator confirmed it: the command carries `confirm_private: true`, and the question keeps
    the mark `private_confirmed` (the pages and the public notes show it only with that mark,
    and never with its asker). Returns the fields to set."""
    if "private" not in q.flags or "private_confirmed" in q.flags:
        return {}
    if command.args.get("confirm_private") is not True:
        raise CommandError(
            "invalid", f"#{q.id} is a private message: confirm that the host may see it "
                       "(send args confirm_private: true)")
    return {"flags": (*q.flags, "private_confirmed")}


@handler("approve", "reopen")
def _approve(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    _move(draft, q, command.op, **_confirmed_private(q, command))
    draft.join_host(q.id)


@handler("dismiss")
def _dismiss(draft: Draft, command: Command, actor: str) -> None:
    reason = clean_line(command.args.get("reason", ""), 200)
    if not reason:
        raise CommandError("invalid", "a dismissal needs a reason (e.g. off_topic, duplicate)")
    _move(draft, _target(draft, command), "dismiss", {"reason": reason}, dismiss_reason=reason)


@handler("restore")
def _restore(draft: Draft, command: Command, actor: str) -> None:
    _move(draft, _target(draft, command), "restore", dismiss_reason=None)


@handler("go_live")
def _go_live(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    confirmation = _confirmed_private(q, command)
    live = draft.view.live_id()
    if live is not None and live != q.id:
        # Nothing is marked answered that was not: the live question goes back to the top.
        draft.update(live, "requeue", {"reason": f"#{q.id} went live"}, status=Status.QUEUED)
        draft.join_host(live, 0)
    _move(draft, q, "go_live", **confirmation)


@handler("next")
def _next(draft: Draft, command: Command, actor: str) -> None:
    """The live question answered, the top of the host list live. A page sends `live`, the
    question it shows as live: a double click or a held key then answers one question, not
    the whole host list (the second `next` no longer matches and is a conflict)."""
    live = draft.view.live_id()
    if "live" in command.args and command.args["live"] != live:
        raise CommandError("conflict", f"#{live} is live now, not #{command.args['live']}"
                           if live is not None else "nothing is live now")
    if live is None and not draft.host:
        raise CommandError("invalid", "nothing is live and the host list is empty")
    if live is not None:
        _move(draft, draft.get(live), "answered", {"by": "next"})
    top_id = None
    if draft.host:
        top_id = draft.host[0]
        draft.leave_host(top_id)
        draft.update(top_id, "go_live", {"by": "next"}, status=Status.LIVE, rank=None,
                     went_live_at=draft.now)
    draft.effect.summary["live"] = top_id


@handler("answered", "requeue", "follow_up")
def _simple_move(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    _move(draft, q, command.op)
    if command.op == "requeue":
        draft.join_host(q.id, 0)


@handler("star", "unstar")
def _star(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    draft.update(q.id, command.op, starred=command.op == "star")


def _open_for_edit(q: Question, op: str) -> None:
    if q.status is Status.MERGED:
        raise CommandError("invalid", f"#{q.id} is merged into #{q.merged_into}; '{op}' that one")


@handler("edit")
def _edit(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    _open_for_edit(q, "edit")
    text = clean_text(command.args.get("text", ""))
    edited = text if text and text != q.text else None
    draft.update(q.id, "edit", {"text": edited}, edited_text=edited)


@handler("tag")
def _tag(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    raw = command.args.get("tags", [])
    if not isinstance(raw, list):
        raise CommandError("invalid", "tags must be a list of strings")
    tags: list[str] = []
    for tag in raw:
        cleaned = clean_line(tag, 40)
        if cleaned and cleaned not in tags:
            tags.append(cleaned)
    if len(tags) > MAX_TAGS:
        raise CommandError("invalid", f"at most {MAX_TAGS} tags")
    draft.update(q.id, "tag", {"tags": tags}, tags=tuple(tags))


@handler("assign")
def _assign(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    value = command.args.get("assignee")
    assignee = clean_line(value, 100) if value is not None else ""
    draft.update(q.id, "assign", {"assignee": assignee or None}, assignee=assignee or None)


@handler("note")
def _note(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    note = clean_text(command.args.get("note", ""), MAX_NOTE)
    draft.update(q.id, "note", {"note": note or None}, note=note or None)


def merge_askers(into: Iterable[Asker], extra: Iterable[Asker]) -> tuple[Asker, ...]:
    seen = {a.identity for a in into}
    merged = list(into)
    for asker in extra:
        if asker.identity not in seen:
            seen.add(asker.identity)
            merged.append(asker)
    return tuple(merged)


@handler("merge")
def _merge(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    into = command.args.get("into")
    if not isinstance(into, int) or isinstance(into, bool):
        raise CommandError("invalid", "merge needs 'into': the number of the question to keep")
    if into == q.id:
        raise CommandError("invalid", f"#{q.id} cannot be merged into itself")
    target = draft.get(into)
    if target.status in (Status.MERGED, Status.DISMISSED):
        raise CommandError("invalid", f"#{into} is {target.status}; merge into an open question")
    _move(draft, q, "merge", {"into": into}, merged_into=into)
    fields: dict[str, Any] = {
        "askers": merge_askers(target.askers, q.askers),
        "tags": tuple(dict.fromkeys([*target.tags, *q.tags])),
        "starred": target.starred or q.starred,
    }
    if command.args.get("use_wording"):
        # the kept question takes a private message's wording only as the moderator confirms
        _confirmed_private(q, command)
        fields["edited_text"] = q.display_text
    draft.update(into, "merged_in", {"from": q.id, "askers": len(q.askers)}, **fields)


@handler("reorder")
def _reorder(draft: Draft, command: Command, actor: str) -> None:
    q = _target(draft, command)
    rank = command.args.get("rank")
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 0:
        raise CommandError("invalid", "reorder needs 'rank': 0 or more (0 = top)")
    if q.status is not Status.QUEUED:
        raise CommandError("invalid", f"#{q.id} is {q.status}; only the host list is ordered")
    draft.join_host(q.id, rank)
    draft.update(q.id, "reorder", {"rank": rank})


@handler("withdraw")
def _withdraw(draft: Draft, command: Command, actor: str) -> None:
    """The author deleted their message at the source (e.g. a YouTube deletion event)."""
    q = _target(draft, command)
    flags = q.flags if "withdrawn" in q.flags else (*q.flags, "withdrawn")
    if q.status is Status.NEW:
        _move(draft, q, "dismiss", {"reason": "withdrawn"}, dismiss_reason="withdrawn",
              flags=flags)
    else:
        draft.update(q.id, "withdraw", {}, flags=flags)


def _same_content(a: Question, b: Question) -> bool:
    """Equal apart from the version counter (e.g. another command changed it and was undone)."""
    return msgspec.structs.replace(a, version=0) == msgspec.structs.replace(b, version=0)


def revert(draft: Draft, changes: Iterable[tuple[Question | None, Question]],
           undo_of: int) -> None:
    """Put each question back as it was before a command (undo), if nobody changed it since."""
    host_before: list[tuple[int, int]] = []
    for before, after in changes:
        current = draft.get(after.id)
        if current.version != after.version and not _same_content(current, after):
            raise CommandError(
                "conflict", f"#{after.id} changed after that command; undo it by hand")
        if before is None:  # the command created it (a manual question): withdraw it
            _move(draft, current, "dismiss", {"undo_of": undo_of}, dismiss_reason="withdrawn")
            continue
        restored = {f: getattr(before, f) for f in before.__struct_fields__
                    if f not in ("version", "history")}
        draft.update(after.id, "undo", {"undo_of": undo_of}, **restored)
        if before.status is Status.QUEUED:
            host_before.append((before.rank or 0, after.id))
        else:
            draft.leave_host(after.id)
    for rank, qid in sorted(host_before):
        draft.join_host(qid, rank)


# The ops about the meeting itself (end_meeting, recording_started), about people (ban, unban,
# link, unlink, flag_author) and the record of written answers mailed afterwards live in their
# own modules; importing them registers their handlers.
from . import mail_ops, meeting_ops, people_ops  # noqa: E402,F401
