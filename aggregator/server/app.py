"""The aiohttp application factory (design.md section 6).

Built the way aiohttp's background_tasks example builds one: typed AppKeys, and a factory that
tests call without running a server. Collectors that receive HTTP (the Zoom webhook) contribute
their routes through `routes()`; the websocket protocol and the pages add theirs here.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from ..config import Config
from ..health import HealthRegistry
from ..queue import QuestionQueue

QUEUE = web.AppKey("queue", QuestionQueue)
CONFIG = web.AppKey("config", Config)
HEALTH = web.AppKey("health", HealthRegistry)

#: Bodies larger than this are refused with 413 before they are read whole.
MAX_BODY = 64 * 1024


async def healthz(request: web.Request) -> web.Response:
    health = request.app[HEALTH]
    queue = request.app[QUEUE]
    return web.json_response({
        "collectors": health.as_dicts(),
        "questions": len(queue),
        "seq": queue.seq,
    })


def create_app(queue: QuestionQueue, config: Config, health: HealthRegistry,
               routes: Iterable[web.AbstractRouteDef] = ()) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[QUEUE] = queue
    app[CONFIG] = config
    app[HEALTH] = health
    app.router.add_get("/healthz", healthz)
    from . import pages, ws  # they import the AppKeys above
    ws.install(app)
    pages.install(app)
    app.add_routes(list(routes))
    return app
