"""The record of a written answer mailed to one asker after the call (`townhall followup send`):
`mail_sending`, `mail_sent`, `mail_failed` (pure handlers, registered in commands.HANDLERS on
import; not client-sendable, see roles.CLIENT_OPS).

Each is a command in the audit log, so a re-run of `followup send` knows what already went out
(aggregator/followup_mail.py explains the sending-before-sent order).
"""

from __future__ import annotations

from .commands import Command, CommandError, Draft, _target, handler
from .sanitize import clean_line

#: the states of a written answer mailed to one asker (`townhall followup send`)
MAIL_OPS = {"mail_sending": "sending", "mail_sent": "sent", "mail_failed": "failed"}


@handler(*MAIL_OPS)
def _mail(draft: Draft, command: Command, actor: str) -> None:
    """Record a written answer's mail to one asker in `meta["mail"][to]`, so the audit log has
    it and a re-run knows what went out (aggregator/followup_mail.py). Not client-sendable."""
    q = _target(draft, command)
    fields = {k: clean_line(command.args.get(k, ""), 500)
              for k in ("to", "answer", "message_id", "error")}
    if not (fields["to"] and fields["answer"] and fields["message_id"]):
        raise CommandError("invalid", f"'{command.op}' needs 'to', 'answer' and 'message_id'")
    entry = {"state": MAIL_OPS[command.op], **{k: v for k, v in fields.items() if v}}
    mail = dict(q.meta.get("mail") or {})
    mail[fields["to"]] = {k: v for k, v in entry.items() if k != "to"}
    draft.update(q.id, command.op, entry, meta={**q.meta, "mail": mail})
