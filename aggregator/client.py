"""The one interface the TUIs use to reach a queue, wherever it runs.

`LocalClient` talks to a QuestionQueue in the same process; `RemoteClient` (remote.py) speaks
the websocket protocol whose frames are typed in protocol.py. Screens only ever see `Client`, so
they cannot tell which one they have.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Protocol

import msgspec

from .aio import cancel_and_wait
from .commands import Command, CommandError
from .config import Config
from .health import CollectorHealth, HealthRegistry
from .model import HistoryEntry
from .queue import QuestionQueue
from .subscription import Change, Snapshot


#: events handed over but not yet taken by the TUI; beyond this the subscription buffers
EVENTS_WAITING = 1_000


class HealthChanged(msgspec.Struct, frozen=True):
    collectors: list[CollectorHealth]


class ConnectionChanged(msgspec.Struct, frozen=True):
    """Only remote clients send these: the link to the server went down or came back."""

    connected: bool
    reason: str | None = None


ClientEvent = Snapshot | Change | HealthChanged | ConnectionChanged


class Client(Protocol):
    actor: str
    role: str
    #: whether export() writes a file here; False: it raises CommandError (ask before dialogs)
    can_export: bool

    def events(self) -> AsyncIterator[ClientEvent]:
        """A Snapshot first, then Changes in seq order, HealthChanged and ConnectionChanged."""
        ...

    async def command(self, op: str, question: int | None = None,
                      args: dict[str, Any] | None = None,
                      if_version: int | None = None) -> None:
        """Apply a command; raises CommandError (invalid, conflict, forbidden, not_found,
        disconnected) when it is refused. Returns once the change is committed."""
        ...

    async def history(self, question_id: int) -> list[HistoryEntry]: ...

    async def export(self, fmt: str, path: str) -> str:
        """Write an export file; returns a one-line summary. Raises CommandError at once where
        this client cannot export (a remote one: the database is on the server)."""
        ...

    async def close(self) -> None: ...


class LocalClient:
    """A Client over a queue in this process."""

    def __init__(self, queue: QuestionQueue, health: HealthRegistry | None = None, *,
                 actor: str = "moderator", role: str = "moderator",
                 config: Config | None = None) -> None:
        self.queue = queue
        self.health = health or HealthRegistry()
        self.actor = actor
        self.role = role
        self.config = config or Config()

    async def events(self) -> AsyncIterator[ClientEvent]:
        # Bounded: while the TUI is busy the pumps wait, the subscription's own buffer fills
        # and, past its limit, it catches up from the store; memory stays bounded either way.
        out: asyncio.Queue[ClientEvent] = asyncio.Queue(maxsize=EVENTS_WAITING)
        subscription = self.queue.subscribe(None)

        async def pump_changes() -> None:
            try:
                async for event in subscription:
                    await out.put(event)
            except Exception as exc:  # the store could not be read: say so, do not freeze
                await out.put(ConnectionChanged(False, f"the change stream failed: {exc}"))

        async def pump_health() -> None:
            while True:
                await out.put(HealthChanged(self.health.snapshot()))
                await self.health.changed()

        tasks = [asyncio.create_task(pump_changes()), asyncio.create_task(pump_health())]
        try:
            while True:
                yield await out.get()
        finally:
            subscription.close()
            await cancel_and_wait(tasks)

    async def command(self, op: str, question: int | None = None,
                      args: dict[str, Any] | None = None,
                      if_version: int | None = None) -> None:
        await self.queue.apply(
            Command.sent_by(self.role, op, question, args or {}, if_version), self.actor)

    async def history(self, question_id: int) -> list[HistoryEntry]:
        return self.queue.history(question_id)

    @property
    def can_export(self) -> bool:
        return self.role == "moderator"

    def identity_rules(self) -> tuple[set[str], dict[str, str]]:
        """The ban list and the identity links as the queue applies them (for previews)."""
        return set(self.queue.bans), dict(self.queue.links)

    async def export(self, fmt: str, path: str) -> str:
        """Write an export of everything committed so far; returns a one-line summary.

        Runs in a thread on its own read-only connection (the store's writer keeps going).
        """
        from .export import export_to_file
        from .store import Store

        if self.role != "moderator":
            raise CommandError("forbidden", f"a {self.role} may not export")
        await self.queue.flush()
        store_path = self.queue.store.path

        def run() -> str:
            with Store(store_path, exclusive=False) as store:
                return export_to_file(store, self.config, fmt, path)

        return await asyncio.to_thread(run)

    async def close(self) -> None:
        return None
