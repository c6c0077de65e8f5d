"""The server under clients that open connections and never finish a request.

Each such connection holds a file descriptor until the server closes it; without a bound, a
thousand of them exhausted the process's descriptors and signed webhooks and `/healthz`
stopped answering. Here: a bounded number on loopback, the server keeps answering and closes
every one of them by itself.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest

from aggregator.collectors.zoom import WEBHOOK_PATH
from aggregator.config import parse_config
from townhall.runtime import Runtime
from townhall.simulators.zoom_sender import chat_event, encode, signed_headers

SECRET = "limits-test-secret"
ENV = "TOWNHALL_LIMITS_ZOOM_SECRET"
#: half-open connections held at once (loopback; well under any descriptor limit)
HALF_OPEN = 200


async def _half_open(port: int, partial: bytes) -> tuple[asyncio.StreamReader,
                                                        asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if partial:
        writer.write(partial)
        await writer.drain()
    return reader, writer


async def test_half_open_connections_neither_starve_the_server_nor_stay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    monkeypatch.setenv(ENV, SECRET)
    config = parse_config(f'[store]\npath = "{tmp_path / "t.db"}"\n'
                          f'[zoom]\nenabled = true\nsecret_token_env = "{ENV}"\n')
    async with Runtime(config, port=0) as runtime:
        port = runtime.bound_port
        assert port
        # half send nothing at all, half stop in the middle of their headers
        partials = [b"", b"POST /zoom/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"]
        held = await asyncio.gather(*(_half_open(port, partials[i % 2])
                                      for i in range(HALF_OPEN)))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
                assert "collectors" in await response.json()
            raw = encode(chat_event("Still answering with 200 connections hanging?"))
            async with http.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", data=raw,
                                 headers=signed_headers(SECRET, raw)) as response:
                assert response.status == 200
        # the server closes every half-open connection by itself: each reads end-of-file
        async with asyncio.timeout(60):
            ends = await asyncio.gather(*(reader.read() for reader, _ in held))
        assert ends == [b""] * HALF_OPEN
        for _, writer in held:
            writer.close()
        texts = [q.text for q in runtime.queue.all()]
        assert "Still answering with 200 connections hanging?" in texts
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
