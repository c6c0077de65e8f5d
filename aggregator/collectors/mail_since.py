"""`[email] since` is about when a mail was *sent*: its Date header, not its arrival.

Why: a mailbox that was migrated or re-filed holds old mail with a new arrival time, so "arrived
since" would collect a question sent weeks before the meeting was announced. IMAP's `SENTSINCE`
search key says the same thing on the server; this module applies that rule to every mail we
read, so the IMAP collector (whose live updates fetch by UID, without a date search), the
Maildir source and `townhall preflight` all decide alike.

The rule is RFC 3501's for SENTSINCE: the date written in the Date header, disregarding time and
time zone, is on or after `since`. A mail without a readable Date header is judged by when it
arrived (the IMAP INTERNALDATE, the Maildir file's modification time), as servers do.
"""

from __future__ import annotations

from datetime import date, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_tz

_headers = BytesHeaderParser(policy=compat32)  # compat32 does not raise on hostile headers


def sent_date(raw: bytes) -> date | None:
    """The calendar date in the mail's Date header, as written there; None if unreadable."""
    try:
        value = _headers.parsebytes(raw).get("Date")
        parts = parsedate_tz(str(value)) if value is not None else None
        return date(parts[0], parts[1], parts[2]) if parts else None
    except Exception:  # noqa: BLE001 - a hostile header is just an unknown date
        return None


def sent_before(raw: bytes, since: date | None, arrived: datetime | date | None = None) -> bool:
    """Whether the mail was sent before `since` (so `[email] since` skips it)."""
    if since is None:
        return False
    sent = sent_date(raw)
    if sent is None and arrived is not None:
        sent = arrived.date() if isinstance(arrived, datetime) else arrived
    return sent is not None and sent < since
