"""What a subscriber of the queue receives: a snapshot, then each committed change in order.

Kept apart from the queue: this is the delivery side (buffering, catching up from the store
after falling behind), the queue is the deciding and writing side.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

import msgspec

from .model import Question


class Change(msgspec.Struct, frozen=True, gc=False):
    seq: int
    question: Question


class Snapshot(msgspec.Struct, frozen=True):
    questions: list[Question]
    seq: int



class Feed(Protocol):
    """What a subscription reads from (the queue): the committed state, and leaving."""

    async def snapshot(self) -> tuple[list[Question], int]: ...
    def changes_since(self, seq: int, limit: int) -> list[tuple[int, Question]]: ...
    def unsubscribe(self, subscription: Subscription) -> None: ...


class Subscription:
    """An async iterator of Snapshot / Change events; see QuestionQueue.subscribe.

    The queue `offer()`s each committed batch of changes. At most `limit` wait here: a
    subscriber that falls further behind drops them and reads what it missed back from the
    store (`changes_since`), so a slow reader costs bounded memory and misses nothing.
    """

    def __init__(self, feed: Feed, since: int | None, limit: int) -> None:
        self._feed = feed
        self._limit = limit
        self._buffer: deque[Change] = deque()
        self._catchup: deque[Change] = deque()
        self._wake = asyncio.Event()
        self._needs_snapshot = since is None
        self._needs_catchup = since is not None
        self.last_seq = since or 0
        self.closed = False

    def offer(self, changes: list[Change]) -> None:
        if len(self._buffer) + len(changes) > self._limit:
            self._buffer.clear()
            self._needs_catchup = True  # read what we dropped back from the store
        else:
            self._buffer.extend(changes)
        self._wake.set()

    def __aiter__(self) -> AsyncIterator[Snapshot | Change]:
        return self

    async def __anext__(self) -> Snapshot | Change:
        while not self.closed:
            if self._needs_snapshot:
                self._needs_snapshot = False
                questions, seq = await self._feed.snapshot()
                self.last_seq = seq
                return Snapshot(questions=questions, seq=seq)
            if not self._catchup and self._needs_catchup:
                rows = self._feed.changes_since(self.last_seq, 2_000)
                if rows:
                    self._catchup.extend(Change(seq, q) for seq, q in rows)
                else:
                    self._needs_catchup = False
            source = self._catchup or self._buffer
            while source:
                change = source.popleft()
                if change.seq > self.last_seq:
                    self.last_seq = change.seq
                    return change
            if self._catchup or self._needs_catchup:
                continue
            self._wake.clear()
            if not self._buffer:
                await self._wake.wait()
        raise StopAsyncIteration

    def close(self) -> None:
        self.closed = True
        self._feed.unsubscribe(self)
        self._wake.set()
