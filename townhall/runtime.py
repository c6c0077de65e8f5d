"""The process wiring (docs/architecture.md, "The layers"), shared by `run`, `serve` and `demo`.

`Runtime` starts the store, the queue, the server and the collectors, in that order, and stops
them in reverse: collectors first (nothing new arrives), then the server, then the queue's
pending writes are flushed and the store closed. The TUI, when there is one, runs inside
`async with Runtime(...)`; nothing depends on Textual's worker cleanup.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
from collections.abc import Sequence

from aiohttp import web

from aggregator.aio import cancel_and_wait
from aggregator.collectors import build_collectors
from aggregator.collectors.base import Collector, supervise
from aggregator.config import Config
from aggregator.health import HealthRegistry
from aggregator.queue import QuestionQueue
from aggregator.server.app import create_app
from aggregator.server.auth import check_bind
from aggregator.server.site import start_site
from aggregator.store import Store
from aggregator.triage import Rules

log = logging.getLogger("townhall")


def tune_gc() -> None:
    """Garbage-collector settings for the long-running process.

    With CPython's default gen-0 threshold of 700, ingesting at thousands of questions a second
    runs a collection every few dozen submits, and those pauses set the p99 of a durable submit
    (30-40 ms at 100 concurrent submitters). The state is acyclic (questions are gc=False
    structs), so collecting less often costs little memory. Freezing moves what start-up loaded
    (modules, the rebuilt queue) out of every later collection.
    """
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


class Runtime:
    def __init__(self, config: Config, *, collectors: Sequence[Collector] | None = None,
                 serve: bool = True, port: int | None = None) -> None:
        self.config = config
        self.health = HealthRegistry()
        self.store = Store(config.store_path)
        rules = Rules(config.triage.topics, uncivil_words=config.triage.uncivil_words)
        self.queue = QuestionQueue(self.store, triage=rules, config_bans=config.triage.banned)
        self.collectors = list(collectors) if collectors is not None else build_collectors(
            config, self.health)
        self.serve = serve
        self.port = port if port is not None else config.server.port
        self.app: web.Application | None = None
        self.bound_port: int | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Runtime:
        if self.serve:  # a non-loopback address without tokens: refuse (ConfigError) at once
            check_bind(self.config)
        self.store.open()
        try:
            await self.queue.start()
            tune_gc()
            if self.serve:
                await self._start_server()
            for collector in self.collectors:
                self.health.set(collector.name, "starting")
                self._tasks.append(asyncio.create_task(
                    supervise(collector, self.queue, self.health), name=f"collector-{collector.name}"))
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start_server(self) -> None:
        routes = [r for c in self.collectors for r in getattr(c, "routes", lambda: [])()]
        self.app = create_app(self.queue, self.config, self.health, routes)
        host = self.config.server.host
        try:
            self._runner, self.bound_port = await start_site(self.app, host, self.port)
        except OSError as exc:
            # The queue still works without the server (manual questions, the local TUI).
            why = "in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            self.health.set("server", "stopped",
                            f"cannot listen on {host}:{self.port} ({why}); set [server] port")
            return
        self.health.set("server", "live", f"http://{host}:{self.bound_port}")

    async def __aexit__(self, *exc: object) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        with contextlib.suppress(Exception):
            await self.queue.close()  # finishes what is in its inbox first
        self.store.close()
