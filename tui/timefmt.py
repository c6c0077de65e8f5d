"""Times for people: local clock time and "3 min ago", never a raw UTC ISO string.

The store keeps UTC ISO strings (aggregator/model.py); a moderator mid-call wants to know how
long ago something happened, in their own time zone. Unparseable input (imported data) comes
back as it was, cut short, rather than raising.
"""

from __future__ import annotations

from datetime import datetime

from aggregator.model import parse_iso


def parse(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        when = parse_iso(iso)
    except (ValueError, TypeError):
        return None
    return when if when.tzinfo is not None else None


def ago(seconds: float) -> str:
    """"just now", "40 s ago", "3 min ago", "2 h ago", "5 days ago"."""
    seconds = int(seconds)
    if seconds < 0:
        return "in the future"
    if seconds < 10:
        return "just now"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400 * 2:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def short_age(seconds: float) -> str:
    """"<1m", "12m", "3h", "2d": for a status line where every cell counts."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "<1m"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def clock_time(iso: str | None, *, seconds: bool = False) -> str:
    """The local time of day ("14:56"), or the text as given when it is not a time."""
    when = parse(iso)
    if when is None:
        return (iso or "?")[:40]
    return when.astimezone().strftime("%H:%M:%S" if seconds else "%H:%M")


def local_when(iso: str | None, now: datetime | None) -> str:
    """"14:56 (3 min ago)"; another day: "Mon 28 Nov 10:56 (2 days ago)"; no clock: local
    time alone. Unparseable: the text as given."""
    when = parse(iso)
    if when is None:
        return (iso or "?")[:40]
    local = when.astimezone()
    if now is None:
        return local.strftime("%a %d %b %H:%M")
    today = now.astimezone().date() == local.date()
    shown = local.strftime("%H:%M" if today else "%a %d %b %H:%M")
    return f"{shown} ({ago((now - when).total_seconds())})"
