"""The role policy: which ops each role may send, which questions it sees, and what it receives.

Three roles, from most to least privileged (a token for a role also opens the roles below it):

- moderator: every op, every question as stored, collectors' health, the audit trail, exports,
  and resuming from a seq after a drop.
- host: `next` only; queued and live questions, as a `HostQuestion` (the host view is often on
  a shared screen).
- overlay: nothing to send; the live question only, as an `OverlayQuestion` (it is on the
  stream, in front of everyone).

What host and overlay receive is built field by field from a `Question` into a Struct of its
own, never a copy of the question with fields blanked: a field added to `Question` later
reaches no page until someone adds it to that role's Struct on purpose. Every name goes through
`privacy.public_name`, and a private question (a message not sent to everyone) reaches neither
page until a moderator confirmed it, and then with its asker hidden.

When a question a page could see leaves its view (the live one is answered, a queued one is
dismissed), the page must learn that it left: it gets a *tombstone*, the role's Struct with the
id, status and version and no content.

Pure functions of a role name and a question: no I/O, so every rule is testable on its own.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from .model import Question, Status
from .privacy import (HIDDEN_ASKER, confirmed, is_private, public_asker, public_asker_name,
                      redact_addresses)

#: roles from most to least privileged
ROLES = ("moderator", "host", "overlay")

#: every op a client (TUI, websocket) may send
CLIENT_OPS = frozenset({
    "approve", "dismiss", "restore", "go_live", "next", "answered", "requeue", "follow_up",
    "reopen", "star", "unstar", "edit", "tag", "assign", "note", "merge", "reorder", "ban",
    "unban", "undo", "add", "link", "unlink", "end_meeting", "recording_started",
})


# --- what host and overlay receive ---------------------------------------------------------

class PublicName(msgspec.Struct, frozen=True, gc=False):
    """A name as a public surface shows it (no address, hidden for a private question)."""

    name: str


class HostQuestion(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A question on the host view: what the host reads out and who asked, nothing else.

    `text` is the wording the host reads (the moderator's edit when there is one); `askers`
    are the display names of everyone who asked it (merged questions) and `asker_count` how
    many they are.
    """

    id: int
    status: Status
    version: int
    source: str = ""
    text: str = ""
    author: PublicName = PublicName("")
    rank: int | None = None
    starred: bool = False
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    askers: tuple[str, ...] = ()
    asker_count: int = 0


class OverlayQuestion(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The live question on the stream overlay: its wording and who asked, nothing else."""

    id: int
    status: Status
    version: int
    text: str = ""
    author: PublicName = PublicName("")


def _host_view(question: Question) -> HostQuestion:
    private = is_private(question)
    askers = tuple(HIDDEN_ASKER if private else public_asker(a) for a in question.askers)
    return HostQuestion(
        id=question.id, status=question.status, version=question.version,
        source=question.source, text=redact_addresses(question.display_text),
        author=PublicName(public_asker_name(question)), rank=question.rank,
        starred=question.starred, tags=tuple(redact_addresses(t) for t in question.tags),
        assignee=redact_addresses(question.assignee) if question.assignee else None,
        askers=askers, asker_count=max(len(askers), 1))


def _overlay_view(question: Question) -> OverlayQuestion:
    return OverlayQuestion(id=question.id, status=question.status, version=question.version,
                           text=redact_addresses(question.display_text),
                           author=PublicName(public_asker_name(question)))


def _moderator_view(question: Question) -> Question:
    """The question as stored; its audit trail has a frame of its own (`history`)."""
    if question.history:
        return msgspec.structs.replace(question, history=())
    return question


# --- the policy table ------------------------------------------------------------------------

class Policy(NamedTuple):
    ops: frozenset[str]
    #: statuses of the questions the role receives; None: all of them
    statuses: frozenset[Status] | None
    #: the type a question reaches this role as
    view: type
    #: the whole truth: health, history, exports, resume from a seq, unconfirmed questions
    full: bool


POLICIES: dict[str, Policy] = {
    "moderator": Policy(CLIENT_OPS, None, Question, True),
    "host": Policy(frozenset({"next"}), frozenset({Status.QUEUED, Status.LIVE}), HostQuestion,
                   False),
    "overlay": Policy(frozenset(), frozenset({Status.LIVE}), OverlayQuestion, False),
}

#: ops each role may send
ROLE_OPS: dict[str, frozenset[str]] = {role: policy.ops for role, policy in POLICIES.items()}

_BUILD = {"moderator": _moderator_view, "host": _host_view, "overlay": _overlay_view}


def is_role(role: str) -> bool:
    return role in POLICIES


def opened_by(role: str) -> tuple[str, ...]:
    """The roles whose token opens `role`: itself and every role above it."""
    return ROLES[: ROLES.index(role) + 1] if role in ROLES else ()


def may_send(role: str, op: str) -> bool:
    return op in ROLE_OPS.get(role, frozenset())


def sees_everything(role: str) -> bool:
    """Health frames, the audit trail, exports and resuming after a drop: moderators only."""
    policy = POLICIES.get(role)
    return policy is not None and policy.full


def view_type(role: str) -> type:
    """The Struct a question reaches `role` as (Question, HostQuestion or OverlayQuestion)."""
    return POLICIES[role].view


def visible(role: str, question: Question) -> bool:
    policy = POLICIES.get(role)
    if policy is None:
        return False
    if policy.full:
        return True
    return question.status in (policy.statuses or ()) and confirmed(question)


def present(role: str, question: Question) -> Question | HostQuestion | OverlayQuestion:
    """The question as `role` receives it (the caller checked `visible`)."""
    return _BUILD[role](question)


def tombstone(role: str, question: Question) -> HostQuestion | OverlayQuestion:
    """A question that just left the view of `role`: id, status and version, no content."""
    view = view_type(role)
    if view is Question:
        raise ValueError("a moderator sees every question; there is no tombstone for it")
    return view(id=question.id, status=question.status, version=question.version)
