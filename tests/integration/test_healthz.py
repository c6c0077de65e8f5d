"""`GET /healthz` on a real aiohttp server on a loopback port: names and states for anyone,
the details only with the moderator token in an `Authorization: Bearer` header."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from aggregator.config import parse_config
from aggregator.health import HealthRegistry
from aggregator.queue import QuestionQueue
from aggregator.server.app import create_app

ENV = {"moderator": "HZ_MOD", "host": "HZ_HOST", "overlay": "HZ_OVERLAY"}
MOD, HOST = "mod-token-8c1f", "host-token-77aa"
#: what only the moderators may read: a collector's reason and counters
REASON = "environment variable ZOOM_WEBHOOK_SECRET_TOKEN is not set"

Serve = Callable[..., AbstractAsyncContextManager[str]]


@pytest.fixture
def serve(queue: QuestionQueue, monkeypatch: pytest.MonkeyPatch) -> Serve:
    """Start the app for a config `[server] host = address` with the given roles' tokens
    set; yields the base URL. The socket is always on 127.0.0.1: `address` only decides what
    the app believes about where it listens."""

    @asynccontextmanager
    async def running(address: str = "127.0.0.1", **tokens: str) -> AsyncIterator[str]:
        for role, env in ENV.items():
            if role in tokens:
                monkeypatch.setenv(env, tokens[role])
            else:
                monkeypatch.delenv(env, raising=False)
        config = parse_config(
            f'[server]\nhost = "{address}"\nmoderator_token_env = "{ENV["moderator"]}"\n'
            f'host_token_env = "{ENV["host"]}"\noverlay_token_env = "{ENV["overlay"]}"\n')
        health = HealthRegistry()
        health.set("zoom", "stopped", REASON, accepted=3)
        health.set("youtube", "live", quota_spent=1234)
        health.count("youtube", 5)
        runner = web.AppRunner(create_app(queue, config, health))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            port = runner.addresses[0][1]
            yield f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()

    return running


async def get(url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
        assert r.status == 200
        return await r.json()


def assert_names_and_states_only(body: dict[str, Any], raw: str) -> None:
    assert body == {"collectors": [{"name": "youtube", "state": "live"},
                                   {"name": "zoom", "state": "stopped"}]}
    assert "ZOOM_WEBHOOK" not in raw and "1234" not in raw


def assert_details(body: dict[str, Any]) -> None:
    zoom = next(c for c in body["collectors"] if c["name"] == "zoom")
    youtube = next(c for c in body["collectors"] if c["name"] == "youtube")
    assert zoom["reason"] == REASON and zoom["detail"] == {"accepted": 3}
    assert youtube["received"] == 5 and youtube["detail"] == {"quota_spent": 1234}
    assert body["questions"] == 0 and "seq" in body


@pytest.mark.parametrize("headers", [
    None,
    {"Authorization": f"Bearer {HOST}"},  # the host role is not the moderator
    {"Authorization": "Bearer wrong"},
    {"Authorization": f"Basic {MOD}"},
    {"Authorization": MOD},
    {"Authorization": "Bearer "},
])
async def test_without_the_moderator_token_only_names_and_states(
        serve: Serve, headers: dict[str, str] | None) -> None:
    async with serve(moderator=MOD, host=HOST) as base:
        async with aiohttp.ClientSession() as session, \
                session.get(f"{base}/healthz", headers=headers) as r:
            assert r.status == 200
            raw = await r.text()
            assert_names_and_states_only(await r.json(), raw)


async def test_a_token_in_the_query_string_is_not_accepted(serve: Serve) -> None:
    async with serve(moderator=MOD) as base:
        body = await get(f"{base}/healthz?token={MOD}")
        assert "questions" not in body and "reason" not in str(body)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
async def test_the_moderator_token_shows_the_details(serve: Serve, scheme: str) -> None:
    async with serve(moderator=MOD, host=HOST) as base:
        assert_details(await get(f"{base}/healthz", {"Authorization": f"{scheme} {MOD}"}))


async def test_an_open_loopback_server_shows_the_details(serve: Serve) -> None:
    """No moderator token configured on loopback: the moderator role is open there."""
    async with serve() as base:
        assert_details(await get(f"{base}/healthz"))
    async with serve(address="::1", host=HOST) as base:
        assert_details(await get(f"{base}/healthz"))


async def test_a_reachable_server_without_a_moderator_token_shows_no_details(
        serve: Serve) -> None:
    """On a non-loopback address a role without a token is closed, the moderator's too."""
    async with serve(address="0.0.0.0", host=HOST) as base:
        body = await get(f"{base}/healthz")
        assert "questions" not in body and all(set(c) == {"name", "state"}
                                               for c in body["collectors"])


async def test_an_open_loopback_server_keeps_its_details_from_a_tunnel(serve: Serve) -> None:
    """A tunnel to this machine (or a DNS-rebound page) names its own host: no details."""
    async with serve() as base:
        async with aiohttp.ClientSession() as session, session.get(
                f"{base}/healthz", headers={"Host": "example.trycloudflare.com"}) as r:
            raw = await r.text()
            assert_names_and_states_only(await r.json(), raw)
