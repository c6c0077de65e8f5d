"""The status line: each collector's state and rate, the YouTube quota, the server, the link.

Collector names, reasons and details come from outside (a server's health frames, an error
message quoting a remote reply), so they are assembled as plain-text Content parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.content import Content
from textual.widgets import Static

from aggregator.health import CollectorHealth

from .rows import clip, one_line

STATE_STYLE = {"live": "bold $success", "starting": "$warning", "waiting": "$warning",
               "backoff": "bold $warning", "ended": "dim", "stopped": "bold $error"}
BAD_STATES = frozenset({"backoff", "stopped"})


def _detail_text(detail: dict[str, Any]) -> str:
    """"quota spent 120, quota projected 9000": every detail as short key/value pairs."""
    items = [f"{str(k).replace('_', ' ')} {v}" for k, v in sorted(detail.items())
             if isinstance(v, (str, int, float, bool))]
    return clip(", ".join(items), 120)


def health_parts(h: CollectorHealth) -> list[Any]:
    parts: list[Any] = [(clip(h.name, 20), "bold"), " ",
                        (h.state, STATE_STYLE.get(h.state, ""))]
    if h.reason:
        parts += [": ", clip(h.reason, 80)]
    if h.state == "backoff" and h.retry_at:
        parts += [f" (retry {h.retry_at[11:19]})"]
    if h.name != "server":
        parts += [(f" {h.per_minute:g}/min", "dim")]
    detail = _detail_text(h.detail) if h.detail else ""
    if detail:
        parts += [" [", detail, "]"]
    return parts


def status_content(collectors: Iterable[CollectorHealth], *, connected: bool,
                   connection_reason: str | None) -> Content:
    parts: list[Any] = []
    if not connected:
        parts += [("DISCONNECTED", "bold reverse $error"), " ",
                  one_line(connection_reason or "reconnecting…", 80), "  "]
    items = list(collectors)
    if not items:
        parts.append(("no collectors running (manual questions only)", "dim"))
    for i, h in enumerate(items):
        if i:
            parts.append(("  │  ", "dim"))
        parts += health_parts(h)
    return Content.assemble(*parts)


class StatusLine(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Content(""), markup=False, id=id)
        self.connected = True
        self.connection_reason: str | None = None
        self.collectors: list[CollectorHealth] = []
        self.plain = ""

    def show(self) -> None:
        content = status_content(self.collectors, connected=self.connected,
                                 connection_reason=self.connection_reason)
        self.plain = content.plain
        self.update(content)
