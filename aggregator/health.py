"""Collectors' health: what the TUI status line and /healthz show.

A collector reports its state here; it never raises past its supervisor (collectors/base.py),
so one failing source never stops the process or the others. The registry also counts arrivals
per source so the status line can show messages per minute.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import msgspec

from .model import utc_now

STATES = ("starting", "live", "backoff", "waiting", "ended", "stopped")
RATE_WINDOW = 60.0


class CollectorHealth(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: str
    state: str = "starting"
    reason: str | None = None
    retry_at: str | None = None  # ISO time of the next attempt, in backoff
    since: str = ""
    received: int = 0
    per_minute: float = 0.0
    detail: dict[str, Any] = {}  # e.g. the YouTube quota spent and projected


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Details update by key; a key set to None is removed (e.g. a finished backlog)."""
    merged = {**old, **new}
    return {key: value for key, value in merged.items() if value is not None}


class HealthRegistry:
    def __init__(self) -> None:
        self._health: dict[str, CollectorHealth] = {}
        self._arrivals: dict[str, deque[float]] = {}
        self._changed = asyncio.Event()
        self.version = 0

    def set(self, name: str, state: str, reason: str | None = None, *,
            retry_at: str | None = None, **detail: Any) -> None:
        if state not in STATES:
            raise ValueError(f"unknown collector state {state!r}")
        current = self._health.get(name) or CollectorHealth(name=name)
        merged = _merge(current.detail, detail)
        self._health[name] = msgspec.structs.replace(
            current, state=state, reason=reason, retry_at=retry_at,
            since=utc_now() if state != current.state else current.since or utc_now(),
            detail=merged,
        )
        self._notify()

    def update_detail(self, name: str, **detail: Any) -> None:
        current = self._health.get(name) or CollectorHealth(name=name)
        self._health[name] = msgspec.structs.replace(current, detail=_merge(current.detail, detail))
        self._notify()

    def count(self, name: str, n: int = 1) -> None:
        """Record `n` arrivals for the messages-per-minute figure."""
        now = time.monotonic()
        window = self._arrivals.setdefault(name, deque())
        window.extend([now] * min(n, 10_000))
        current = self._health.get(name) or CollectorHealth(name=name)
        self._health[name] = msgspec.structs.replace(current, received=current.received + n)
        self._notify()

    def get(self, name: str) -> CollectorHealth | None:
        return self._health.get(name)

    def snapshot(self) -> list[CollectorHealth]:
        now = time.monotonic()
        result = []
        for name, health in sorted(self._health.items()):
            window = self._arrivals.get(name)
            while window and now - window[0] > RATE_WINDOW:
                window.popleft()
            rate = float(len(window)) if window else 0.0
            result.append(msgspec.structs.replace(health, per_minute=rate))
        return result

    def as_dicts(self) -> list[dict[str, Any]]:
        return [msgspec.to_builtins(h) for h in self.snapshot()]

    def _notify(self) -> None:
        self.version += 1
        self._changed.set()

    async def changed(self) -> None:
        """Wait for the next change."""
        self._changed.clear()
        await self._changed.wait()
