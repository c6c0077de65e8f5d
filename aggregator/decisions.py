"""What one inbox item becomes: the write to commit and the answer for its caller.

The queue's owner task (queue.py) calls these for each item of a batch, in order, with the
batch's `Pending` state; they read only that state (and the store's committed audit log, for
undo), record the item's effect in it, and return a `Decided`. Nothing here touches the queue's
memory or awaits: whether the write reaches the disk is decided after, in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from .commands import Command, CommandError, Draft, Effect, decide, revert
from .model import Asker, Author, Incoming, Question, Source, Status, utc_now
from .pending import Pending
from .sanitize import clean_line, clean_text
from .store import ChangeRow, CommandRow, Write

if TYPE_CHECKING:
    from .queue import Checkpoint, QuestionQueue

#: statuses a collector may give a message on arrival (an import of answered questions, say)
INCOMING_STATUSES = frozenset({Status.NEW, Status.ANSWERED, Status.FOLLOW_UP})


class SubmitResult(NamedTuple):
    question: Question
    created: bool  # False: a duplicate of a message already stored (at-least-once delivery)


@dataclass(slots=True)
class Decided:
    """One item decided: what to write (None: nothing) and what its caller gets once that is
    on disk: `result`, or `error` (a refused command writes nothing)."""

    write: Write | None = None
    result: Any = None
    error: BaseException | None = None


# --- submits --------------------------------------------------------------------------------

def decide_submit(queue: QuestionQueue, pending: Pending, incomings: Sequence[Incoming],
                  checkpoint: Checkpoint | None) -> Decided:
    """Store each new message once (same source and external id: a duplicate, not stored
    again) and the collector's checkpoint with them."""
    results: list[SubmitResult] = []
    created: list[Question] = []
    now = utc_now()
    for incoming in incomings:
        existing = pending.find(incoming.source, incoming.external_id)
        if existing is not None:
            results.append(SubmitResult(existing, False))
            continue
        question = build_question(queue, pending, incoming, now)
        pending.put(question, created=True)
        created.append(question)
        results.append(SubmitResult(question, True))
    if not created and checkpoint is None:
        return Decided(result=results)
    changes = [
        ChangeRow(seq=pending.next_seq(), question_id=q.id, at=now, actor=q.source,
                  action="received", after=q,
                  detail={"status": q.status.value} if q.status is not Status.NEW else {})
        for q in created
    ]
    write = Write(created=created, changes=changes,
                  checkpoints={checkpoint.name: checkpoint.value} if checkpoint else {})
    return Decided(write=write, result=results)


def build_question(queue: QuestionQueue, pending: Pending, incoming: Incoming,
                   now: str) -> Question:
    """A new question from a message: cleaned, triaged, hinted, and dismissed at once when
    its author is banned (stored all the same: nothing is silently dropped)."""
    status = incoming.status if incoming.status in INCOMING_STATUSES else Status.NEW
    text = clean_text(incoming.text)
    author = Author(
        name=clean_line(incoming.author.name) or "(no name)",
        id=clean_line(incoming.author.id, 320) or "(unknown)",
        email=clean_line(incoming.author.email, 320) or None if incoming.author.email else None,
        url=clean_line(incoming.author.url, 500) or None if incoming.author.url else None,
    )
    assessment = queue.triage.assess(text, incoming.source)
    similar = queue.similar.hints(text)
    qid = pending.new_question_id()
    question = Question(
        id=qid, source=incoming.source, external_id=incoming.external_id, author=author,
        text=text, sent_at=incoming.sent_at, received_at=now, status=status,
        note=clean_text(incoming.note) or None if incoming.note else None,
        askers=(Asker(source=incoming.source, name=author.name, id=author.id,
                      email=author.email, question=qid, private="private" in incoming.flags),),
        likely_question=assessment.likely_question, tags=assessment.tags,
        flags=tuple(dict.fromkeys([*incoming.flags, *assessment.flags])),
        similar=similar, meta=incoming.meta,
    )
    if status is Status.NEW and pending.is_banned(question):
        question = msgspec.structs.replace(
            question, status=Status.DISMISSED, dismiss_reason="banned",
            flags=(*question.flags, "banned_author"))
    return question


# --- commands -------------------------------------------------------------------------------

def decide_command(queue: QuestionQueue, pending: Pending, command: Command,
                   actor: str) -> Decided:
    """The command's effect on the pending state, as a write with its audit rows."""
    undone: int | None = None
    now = utc_now()
    if command.op == "undo":
        effect, undone = _undo_effect(queue, pending, actor)
    elif command.op == "add":
        effect = _add_effect(queue, pending, command, actor)
    else:
        effect = decide(pending, command, actor, now)
    # Meeting facts: only real changes are written, each with the value it replaces (undo).
    facts = queue.store.meeting() if effect.meeting else {}
    effect.meeting = {k: v for k, v in effect.meeting.items() if facts.get(k) != v}
    if not (effect.changes or effect.bans_added or effect.bans_removed
            or effect.links_added or effect.links_removed or effect.meeting):
        return Decided(result=[])
    links = pending.links
    previous_links = {i: links[i] for i in effect.links_removed if i in links}
    previous_links.update({i: links[i] for i, _ in effect.links_added if i in links})
    pending.record(effect)
    command_id = pending.next_command_id()
    changes = [
        ChangeRow(seq=pending.next_seq(), question_id=after.id, at=now, actor=actor,
                  action=action, after=after, before=before, detail=detail,
                  command_id=command_id)
        for before, after, action, detail in effect.changes
    ]
    write = Write(
        created=[after for before, after, _, _ in effect.changes if before is None],
        updated=[after for before, after, _, _ in effect.changes if before is not None],
        changes=changes,
        command=CommandRow(
            id=command_id, at=now, actor=actor, op=command.op,
            question_id=command.question, args=dict(command.args),
            effects={"bans_added": effect.bans_added, "bans_removed": effect.bans_removed,
                     "links_added": effect.links_added, "links_removed": effect.links_removed,
                     "previous_links": previous_links, "meeting": effect.meeting,
                     "previous_meeting": {k: facts.get(k) for k in effect.meeting},
                     **effect.summary}),
        undone=(undone, command_id) if undone is not None else None,
        bans_added=[(entry, actor) for entry in effect.bans_added],
        bans_removed=effect.bans_removed,
        links_added=effect.links_added,
        links_removed=effect.links_removed,
        meeting=effect.meeting,
    )
    return Decided(write=write, result=[after for _, after, _, _ in effect.changes])


def _add_effect(queue: QuestionQueue, pending: Pending, command: Command,
                actor: str) -> Effect:
    text = clean_text(command.args.get("text", ""))
    if not text:
        raise CommandError("invalid", "a new question needs text")
    name = clean_line(command.args.get("author") or "", 200) or actor
    incoming = Incoming(
        source=Source.MANUAL, external_id=f"manual-{uuid.uuid4()}",
        author=Author(name=name, id=name.casefold()), text=text, sent_at=utc_now(),
        meta={"added_by": actor},
    )
    effect = Effect()
    effect.changes.append(
        (None, build_question(queue, pending, incoming, utc_now()), "add", {"by": actor}))
    return effect


def _undo_effect(queue: QuestionQueue, pending: Pending, actor: str) -> tuple[Effect, int]:
    """Take back the actor's last command. The queue decides an undo only at the start of a
    batch, so the audit log read here holds every command that came before it."""
    last = queue.store.last_command(actor)
    if last is None:
        raise CommandError("invalid", f"{actor} has nothing to undo")
    rows = queue.store.change_rows(last.id)
    draft = Draft(pending)
    revert(draft, [(row.before, row.after) for row in rows], last.id)
    effect = draft.finish()
    effects = last.effects
    bans = pending.bans
    effect.bans_removed = [e for e in effects.get("bans_added", []) if e in bans]
    effect.bans_added = [e for e in effects.get("bans_removed", []) if e not in bans]
    previous = effects.get("previous_links", {})
    effect.links_removed = [i for i, _ in effects.get("links_added", []) if i not in previous]
    effect.links_added = [(i, p) for i, p in previous.items()]
    effect.meeting = dict(effects.get("previous_meeting", {}))
    effect.summary["undid"] = {"command": last.id, "op": last.op}
    return effect, last.id
