"""What every collector shares: the sink it feeds, backoff with jitter, and a supervisor.

A collector is an object with `name` and `async run(sink)`. It reports its state through the
HealthRegistry it was given. `supervise()` runs it so that no failure ever reaches the process:
an exception means backoff and retry; `CollectorEnded` (the chat ended) and `CollectorStopped`
(a problem only a person can fix, e.g. a revoked key) end it with that state and reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from ..commands import Command
from ..health import HealthRegistry
from ..model import Incoming, Question, to_iso
from ..queue import Checkpoint, SubmitResult

log = logging.getLogger("townhall.collectors")


class Sink(Protocol):
    """The part of QuestionQueue a collector uses."""

    async def submit(self, incoming: Incoming, checkpoint: Checkpoint | None = None
                     ) -> SubmitResult: ...
    async def submit_batch(self, incomings: Sequence[Incoming],
                           checkpoint: Checkpoint | None = None) -> list[SubmitResult]: ...
    async def save_checkpoint(self, checkpoint: Checkpoint) -> None: ...
    async def apply(self, command: Command, actor: str) -> list[Question]: ...
    def checkpoint(self, name: str) -> Any | None: ...


async def submit_counted(sink: Sink, health: HealthRegistry, name: str,
                         incomings: Sequence[Incoming], checkpoint: Checkpoint | None = None
                         ) -> int:
    """Submit a page (and the checkpoint after it); the new messages count towards the
    collector's rate in its health, the duplicates do not. Returns how many were new."""
    results = await sink.submit_batch(incomings, checkpoint)
    created = sum(1 for r in results if r.created)
    if created:
        health.count(name, created)
    return created


class Collector(Protocol):
    name: str

    async def run(self, sink: Sink) -> None: ...


class CollectorEnded(Exception):
    """The source has nothing more to give (e.g. the live chat ended). Not an error."""


class CollectorStopped(Exception):
    """A failure that retrying cannot fix; the message tells the operator what to do."""


class Backoff:
    """Exponential backoff with full jitter, capped; `reset()` after a success."""

    def __init__(self, initial: float = 1.0, maximum: float = 60.0, factor: float = 2.0,
                 rng: random.Random | None = None) -> None:
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * self.factor ** self.attempt)
        self.attempt += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


def retry_time(delay: float) -> str:
    return to_iso(datetime.now(timezone.utc) + timedelta(seconds=delay))


async def supervise(collector: Collector, sink: Sink, health: HealthRegistry,
                    backoff: Backoff | None = None) -> None:
    """Run `collector` until it ends, stops, or is cancelled; never raises otherwise."""
    backoff = backoff or Backoff()
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await collector.run(sink)
        except asyncio.CancelledError:
            health.set(collector.name, "stopped", "shut down")
            raise
        except CollectorEnded as exc:
            health.set(collector.name, "ended", str(exc) or "the source ended")
            return
        except CollectorStopped as exc:
            health.set(collector.name, "stopped", str(exc))
            return
        except Exception as exc:  # any other failure: back off and try again
            if loop.time() - started > backoff.maximum:
                backoff.reset()  # it ran well for a while: this is a fresh failure
            delay = backoff.next_delay()
            reason = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("collector %s failed (%s); retrying in %.1fs", collector.name, reason, delay)
            health.set(collector.name, "backoff", reason, retry_at=retry_time(delay))
            await asyncio.sleep(delay)
        else:
            health.set(collector.name, "ended", "finished")
            return
