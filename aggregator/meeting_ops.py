"""The ops about the meeting itself rather than one question: `end_meeting` and
`recording_started` (pure handlers, registered in commands.HANDLERS on import).

They write meeting facts (`Effect.meeting`), which the store keeps in its `meeting` table in
the same transaction as the command, and which `undo` puts back as they were.
"""

from __future__ import annotations

from .commands import Command, CommandError, Draft, _move, handler
from .model import parse_iso, to_iso

#: the meeting facts these commands write (store.py keeps them; exports read them)
ENDED_AT = "ended_at"
RECORDING_STARTED_AT = "recording_started_at"  # set by a moderator (the op)
STREAM_STARTED_AT = "stream_started_at"  # YouTube's actualStartTime, kept by the collector
RECORDING_SOURCES = {"moderator": RECORDING_STARTED_AT, "youtube": STREAM_STARTED_AT}


@handler("end_meeting")
def _end_meeting(draft: Draft, command: Command, actor: str) -> None:
    """Nothing approved is lost when the call ends: what the host did not reach (the live
    question and the host list) moves to follow-up, to be answered in writing."""
    live = draft.view.live_id()
    moved = [*([live] if live is not None else []), *draft.view.host_ids()]
    for qid in moved:
        _move(draft, draft.get(qid), "follow_up", {"by": "end_meeting"})
    draft.effect.meeting[ENDED_AT] = draft.now
    draft.effect.summary["moved"] = len(moved)


@handler("recording_started")
def _recording_started(draft: Draft, command: Command, actor: str) -> None:
    """The moment the recording starts, which each answered question's time link counts from:
    `at` (ISO-8601) or now. `source: "youtube"` is the stream's own start as YouTube reports
    it, kept apart so a moderator's moment always wins over it."""
    at = command.args.get("at")
    if at is None:
        moment = draft.now
    elif isinstance(at, str) and len(at) <= 40:
        try:
            moment = to_iso(parse_iso(at.strip()))
        except ValueError:
            raise CommandError("invalid", "'at' must be an ISO-8601 time such as "
                                          "2022-11-10T14:00:05Z, or null for now") from None
    else:
        raise CommandError("invalid", "'at' must be an ISO-8601 time, or null for now")
    key = RECORDING_SOURCES.get(command.args.get("source", "moderator"))
    if key is None:
        raise CommandError("invalid", "'source' is 'moderator' (default) or 'youtube'")
    draft.effect.meeting[key] = moment
