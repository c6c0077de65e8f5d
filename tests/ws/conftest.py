"""A real Townhall server on a free loopback port, and raw websocket clients for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from aggregator.config import parse_config
from tests.support.browser import chromium
from townhall.runtime import Runtime

TOKENS = {"moderator": "mod-secret-1", "host": "host-secret-2", "overlay": "overlay-secret-3"}
ENV = {"moderator": "T7_MOD", "host": "T7_HOST", "overlay": "T7_OVERLAY"}


def config_text(db: Path, host: str = "127.0.0.1", title: str = "Office hours") -> str:
    return (f'[meeting]\ntitle = "{title}"\n[store]\npath = "{db}"\n'
            f'[server]\nhost = "{host}"\nport = 8765\n'
            f'moderator_token_env = "{ENV["moderator"]}"\nhost_token_env = "{ENV["host"]}"\n'
            f'overlay_token_env = "{ENV["overlay"]}"\n')


@dataclass
class Server:
    runtime: Runtime

    @property
    def queue(self):  # noqa: ANN201
        return self.runtime.queue

    @property
    def port(self) -> int:
        assert self.runtime.bound_port
        return self.runtime.bound_port

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for role, env in ENV.items():
        monkeypatch.setenv(env, TOKENS[role])
    return TOKENS


@pytest.fixture
async def server(tmp_path: Path, tokens: dict[str, str]) -> AsyncIterator[Server]:
    config = parse_config(config_text(tmp_path / "t.db"))
    async with Runtime(config, collectors=[], port=0) as runtime:
        yield Server(runtime)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium for the page tests (tests/support/browser.py)."""
    async with chromium() as b:
        yield b


async def hello(url: str, role: str, token: str | None, name: str = "Ana",
                since: int | None = None, **kw: Any) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(url, proxy=None, max_size=None, **kw)
    await ws.send(json.dumps({"type": "hello", "role": role, "token": token, "name": name,
                              "since": since}))
    return ws, json.loads(await ws.recv())


async def read_until(ws: ClientConnection, predicate: Any, limit: int = 100_000,
                     timeout: float = 10.0) -> list[dict[str, Any]]:
    """Frames up to and including the first one for which predicate(frame) is true."""
    import asyncio

    frames = []
    async with asyncio.timeout(timeout):
        for _ in range(limit):
            frame = json.loads(await ws.recv())
            frames.append(frame)
            if predicate(frame):
                return frames
    raise AssertionError(f"no matching frame in {limit} frames")


def snapshot_done(frame: dict[str, Any]) -> bool:
    return frame["type"] == "snapshot" and frame["done"]
