"""Shared pieces of the email tests: running a collector against a real pymap server."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

from aggregator.aio import cancel_and_wait
from aggregator.collectors.base import Backoff, supervise
from aggregator.collectors.email_rules import SubjectRules
from aggregator.collectors.imap import ImapCollector
from aggregator.collectors.imap_connect import ImapSettings
from aggregator.health import HealthRegistry
from aggregator.queue import QuestionQueue
from tests.support.imap_server import PymapServer

RULES = SubjectRules(["Question for Maggie"], ["Conversation with Maggie"])
_users = itertools.count(1)


def new_mailbox(server: PymapServer) -> str:
    """A fresh, empty mailbox on a running server (one per test)."""
    user = f"box{next(_users)}"
    server.add_user(user, "secret")
    return user


def settings_for(server: PymapServer, user: str, **overrides: Any) -> ImapSettings:
    values: dict[str, Any] = dict(host="127.0.0.1", port=server.port, security="plain",
                                  username=user, read_timeout=10.0, connect_timeout=5.0,
                                  idle_slice=60.0)
    values.update(overrides)
    return ImapSettings(**values)


def secret(_env: str) -> str:
    return "secret"


@contextlib.asynccontextmanager
async def running(queue: QuestionQueue, settings: ImapSettings,
                  rules: SubjectRules = RULES, health: HealthRegistry | None = None,
                  ) -> AsyncIterator[HealthRegistry]:
    """The IMAP collector under `supervise()` (real backoff, fast start) until the block ends."""
    health = health or HealthRegistry()
    async with supervising(ImapCollector(settings, rules, health, secret), queue, health,
                           Backoff(initial=0.2, maximum=2.0)):
        yield health


@contextlib.asynccontextmanager
async def supervising(collector: Any, queue: QuestionQueue, health: HealthRegistry,
                      backoff: Backoff | None = None) -> AsyncIterator[None]:
    """Run `collector` under `supervise()` for the duration of the block."""
    task = asyncio.create_task(supervise(collector, queue, health, backoff))
    try:
        yield
    finally:
        await cancel_and_wait([task])


async def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait (bounded) until `condition()` holds; fails the test with a clear message otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


def state(health: HealthRegistry, name: str = "email") -> str | None:
    entry = health.get(name)
    return entry.state if entry else None
