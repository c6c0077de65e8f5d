"""The status line: every collector's state, its last message's age, and a warning when a live
source has gone silent; then, as room allows, rates, reasons and details (the YouTube quota).

Why fitted to the width rather than wrapped or cut at the end: the line used to end mid-way
through YouTube's quota details, so the sources after it (Zoom) were never seen and a dead
webhook went unnoticed. Now every source's essentials come first and the extras are added only
while they fit, one level at a time across all sources.

Collector names, reasons and details come from outside (a server's health frames, an error
message quoting a remote reply), so they are assembled as plain-text Content parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import Static

from aggregator.health import CollectorHealth

from ..timefmt import clock_time, parse, short_age
from .rows import SOURCE_LABELS, clip, one_line

STATE_STYLE = {"live": "bold $success", "starting": "$warning", "waiting": "$warning",
               "backoff": "bold $warning", "ended": "dim", "stopped": "bold $error"}
BAD_STATES = frozenset({"backoff", "stopped"})
#: seconds without a message after which a live source is called silent (email is slower)
SILENT_AFTER = 5 * 60
SILENT_AFTER_BY_SOURCE = {"email": 30 * 60}
SEPARATOR = ("  │  ", "dim")
NARROW_SEPARATOR = (" │ ", "dim")

Part = str | tuple[str, str]


def _detail_text(detail: dict[str, Any]) -> str:
    """"quota spent 120, quota projected 9000": every detail as short key/value pairs."""
    items = [f"{str(k).replace('_', ' ')} {v}" for k, v in sorted(detail.items())
             if isinstance(v, (str, int, float, bool))]
    return clip(", ".join(items), 120)


def _order(h: CollectorHealth) -> tuple[int, str]:
    """Sources first (YouTube, Zoom, email, others), the server last."""
    rank = {"youtube": 0, "zoom": 1, "email": 2}.get(h.name, 3 if h.name != "server" else 4)
    return rank, h.name


def silent_for(h: CollectorHealth, last_arrival: float | None, now: float | None) -> float | None:
    """Seconds a live source has been silent past its limit's start, or None if it is not
    (counted from its last message, or from when it went live if none came since)."""
    if h.state != "live" or h.name == "server" or now is None:
        return None
    since = parse(h.since)
    start = max(filter(None, (last_arrival, since.timestamp() if since else None)),
                default=None)
    if start is None:
        return None
    quiet = now - start
    return quiet if quiet >= SILENT_AFTER_BY_SOURCE.get(h.name, SILENT_AFTER) else None


def essential_parts(h: CollectorHealth, last_arrival: float | None,
                    now: float | None, *, compact: int = 0) -> list[Part]:
    """Name, state, last message's age (or none yet), silence warning: always shown.
    `compact` 1, 2: fewer words, for narrow terminals."""
    label = SOURCE_LABELS.get(h.name, clip(h.name, 20)) if h.name != "server" else "server"
    parts: list[Part] = [(label, "bold"), " ", (h.state, STATE_STYLE.get(h.state, ""))]
    if h.name == "server" or now is None:
        return parts
    silent = silent_for(h, last_arrival, now)
    if silent is not None:
        warning = f"⚠ {short_age(silent)}" if compact > 1 else f"⚠ silent {short_age(silent)}"
        parts += [" ", (warning, "bold reverse $warning")]
    elif last_arrival is not None:
        age = short_age(now - last_arrival)
        parts += [(f" {age} ago" if compact else f" last message {age} ago", "dim")]
    else:
        parts += [(" no msg yet" if compact else " no message yet", "dim")]
    return parts


def extra_parts(h: CollectorHealth) -> list[list[Part]]:
    """What is added while room allows, level by level: the rate and why a source is failing;
    then its details (the YouTube quota); then what a healthy source is doing."""
    levels: list[list[Part]] = [[], [], []]
    if h.name != "server":
        levels[0] = [(f" {h.per_minute:g}/min", "dim")]
    reason: list[Part] = [": ", clip(h.reason, 80)] if h.reason else []
    if h.state == "backoff" and h.retry_at:
        reason += [f" (retry {clock_time(h.retry_at, seconds=True)})"]
    levels[0 if h.state in BAD_STATES else 2] += reason
    detail = _detail_text(h.detail) if h.detail else ""
    if detail:
        levels[1] = [" [", detail, "]"]
    return levels


def _width(parts: Iterable[Part]) -> int:
    return sum(cell_len(p if isinstance(p, str) else p[0]) for p in parts)


def status_content(collectors: Iterable[CollectorHealth], *, connected: bool,
                   connection_reason: str | None,
                   last_arrivals: Mapping[str, float] | None = None,
                   now: float | None = None, width: int | None = None) -> Content:
    prefix: list[Part] = []
    if not connected:
        prefix += [("DISCONNECTED", "bold reverse $error"), " ",
                   one_line(connection_reason or "reconnecting…", 60)[:60], "  "]
    items = sorted(collectors, key=_order)
    if not items:
        return Content.assemble(*prefix, ("no collectors running (manual questions only)",
                                          "dim"))
    arrivals = last_arrivals or {}
    room = width if width is not None else 10**6
    # Shorter and shorter until it fits: fewer words, narrower separators, then a live server
    # left out (it is not a source; a failing one always stays).
    all_items = items
    for compact, separator, server in ((0, SEPARATOR, True), (1, SEPARATOR, True),
                                       (1, NARROW_SEPARATOR, True),
                                       (1, NARROW_SEPARATOR, False),
                                       (2, NARROW_SEPARATOR, False)):
        items = [h for h in all_items if server or h.name != "server" or h.state != "live"]
        blocks = [essential_parts(h, arrivals.get(h.name), now, compact=compact)
                  for h in items]
        used = _width(prefix) + _width(p for b in blocks for p in b) + (
            len(blocks) - 1) * cell_len(separator[0])
        if used <= room:
            break
    extras = [extra_parts(h) for h in items]
    for level in range(3):
        for block, extra in zip(blocks, extras):
            add = extra[level]
            if add and used + _width(add) <= room:
                block.extend(add)
                used += _width(add)
    parts: list[Part] = list(prefix)
    for i, block in enumerate(blocks):
        if i:
            parts.append(separator)
        parts += block
    return Content.assemble(*parts)


class StatusLine(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Content(""), markup=False, id=id)
        self.connected = True
        self.connection_reason: str | None = None
        self.collectors: list[CollectorHealth] = []
        #: source name -> epoch seconds of its newest message (the screen keeps it current)
        self.last_arrivals: Mapping[str, float] = {}
        self.now: datetime | None = None
        self.plain = ""
        self._shown: tuple[object, ...] | None = None

    def show(self) -> None:
        content = status_content(
            self.collectors, connected=self.connected, connection_reason=self.connection_reason,
            last_arrivals=self.last_arrivals,
            now=self.now.timestamp() if self.now is not None else None,
            width=self.size.width or None)
        shown = (content.plain, tuple(content.spans))
        if shown == self._shown:  # called on every batch of arrivals: repaint only changes
            return
        self._shown = shown
        self.plain = content.plain
        self.update(content)

    def on_resize(self) -> None:
        self.show()

    def silent_sources(self) -> list[str]:
        """The live sources silent past their limit (for a one-time notification)."""
        now = self.now.timestamp() if self.now is not None else None
        return [h.name for h in self.collectors
                if silent_for(h, self.last_arrivals.get(h.name), now) is not None]
