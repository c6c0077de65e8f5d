"""The aiohttp application factory.

Built the way aiohttp's background_tasks example builds one: typed AppKeys, and a factory that
tests call without running a server. Collectors that receive HTTP (the Zoom webhook) contribute
their routes through `routes()`; the websocket protocol and the pages add theirs here.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from ..config import Config
from ..health import HealthRegistry
from ..net import is_loopback
from ..queue import QuestionQueue
from .auth import Tokens

QUEUE = web.AppKey("queue", QuestionQueue)
CONFIG = web.AppKey("config", Config)
HEALTH = web.AppKey("health", HealthRegistry)
#: The roles' tokens, read from the environment once when the app is built.
TOKENS = web.AppKey("tokens", Tokens)

#: Bodies larger than this are refused with 413 before they are read whole.
MAX_BODY = 64 * 1024


def bearer_token(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None. Only the header: a token
    in the query string would end up in proxy logs and browser history."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def healthz(request: web.Request) -> web.Response:
    """Each collector's name and state for anyone who can reach the server (a monitoring
    probe needs no secret); the details (counts, reasons, quota, the size of the queue) only
    for the moderator role, whose token is sent as `Authorization: Bearer ...`. On a loopback
    server without a moderator token that role is open, so the details are shown."""
    health = request.app[HEALTH]
    tokens = request.app[TOKENS]
    # An open moderator role is open to this machine only: a request through a tunnel or a
    # DNS-rebound page names another host, and gets the names and states alone.
    open_here = tokens.configured("moderator") or is_loopback(
        (request.url.host or "").strip("[]"))
    if not (open_here and tokens.allows("moderator", bearer_token(request))):
        return web.json_response({"collectors": [
            {"name": h.name, "state": h.state} for h in health.snapshot()]})
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
    app[TOKENS] = Tokens.from_config(config)
    app.router.add_get("/healthz", healthz)
    from . import pages, ws  # they import the AppKeys above
    ws.install(app)
    pages.install(app)
    app.add_routes(list(routes))
    return app
