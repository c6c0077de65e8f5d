"""`townhall serve`, `connect` and `host` as real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from aggregator.config import parse_config
from townhall.runtime import Runtime
from tests.support.imap_server import free_port
from aggregator.store import Store
from tests.conftest import ROOT, townhall
from tests.ws.conftest import ENV, TOKENS, config_text


def test_serve_refuses_a_public_address_without_tokens(tmp_path: Path) -> None:
    cfg = tmp_path / "townhall.toml"
    cfg.write_text(config_text(tmp_path / "t.db", host="0.0.0.0"))
    env = {name: "" for name in ENV.values()}
    proc = townhall("serve", "--config", str(cfg), env=env, timeout=30)
    assert proc.returncode == 2
    assert "[server] host" in proc.stderr and "no token is set" in proc.stderr
    assert "T7_MOD" in proc.stderr


async def test_runtime_refuses_the_same(tmp_path: Path, monkeypatch) -> None:
    from aggregator.config import ConfigError

    for env in ENV.values():
        monkeypatch.delenv(env, raising=False)
    config = parse_config(config_text(tmp_path / "t.db", host="192.0.2.10"))
    with pytest.raises(ConfigError, match="reachable from other machines"):
        async with Runtime(config, collectors=[], port=0):
            pass


def test_serve_runs_serves_pages_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "townhall.toml"
    cfg.write_text(config_text(tmp_path / "t.db").replace("port = 8765", f"port = {port}"))
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           **{ENV[role]: TOKENS[role] for role in ("moderator", "host")}}
    env.pop(ENV["overlay"], None)
    proc = subprocess.Popen([sys.executable, "-m", "townhall", "serve", "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                probe = urllib.request.Request(  # the details need the moderator token
                    f"http://127.0.0.1:{port}/healthz",
                    headers={"Authorization": f"Bearer {TOKENS['moderator']}"})
                with urllib.request.urlopen(probe, timeout=2) as r:
                    health = json.load(r)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.2)
        assert health["questions"] == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/overlay", timeout=5) as r:
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
            assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Townhall is serving 'Office hours'" in err
    assert "moderator role: token from $T7_MOD" in err
    assert "overlay role: open (no token set; loopback only)" in err
    for secret in TOKENS.values():
        assert secret not in err and secret not in out


def test_connect_and_host_explain_bad_urls_and_unreachable_servers() -> None:
    proc = townhall("connect", "ftp://x", "--name", "Ana", timeout=30)
    assert proc.returncode == 2 and "not a websocket address" in proc.stderr
    port = free_port()
    proc = townhall("host", f"ws://127.0.0.1:{port}/ws", timeout=30)
    assert proc.returncode == 1 and "cannot reach ws://127.0.0.1" in proc.stderr


async def test_host_against_something_that_is_not_townhall(tmp_path: Path, tokens) -> None:
    import asyncio

    config = parse_config(config_text(tmp_path / "t.db"))
    async with Runtime(config, collectors=[], port=0) as runtime:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "townhall", "host",
            f"ws://127.0.0.1:{runtime.bound_port}/healthz",
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1 and b"cannot reach" in err and b"Traceback" not in err


async def test_host_with_a_wrong_token_says_so(tmp_path: Path, tokens) -> None:
    import asyncio

    config = parse_config(config_text(tmp_path / "t.db"))
    async with Runtime(config, collectors=[], port=0) as runtime:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "townhall", "host", f"ws://127.0.0.1:{runtime.bound_port}",
            "--token", "bad-token", env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert b"refused the connection: wrong or missing token for role host" in err
    assert b"bad-token" not in err


SLOW_START = """
import asyncio, sys
from townhall import serve
from aggregator.config import load_config
from townhall.runtime import Runtime

enter = Runtime.__aenter__

async def slow_enter(self):  # a start-up that takes a while, as with a large store
    print("starting", flush=True)
    await asyncio.sleep(3)
    return await enter(self)

Runtime.__aenter__ = slow_enter
sys.exit(serve.run(load_config(sys.argv[1])))
"""


def test_sigterm_during_start_up_shuts_down_in_order(tmp_path: Path) -> None:
    cfg = tmp_path / "townhall.toml"
    cfg.write_text(config_text(tmp_path / "t.db").replace("port = 8765",
                                                          f"port = {free_port()}"))
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           **{ENV[role]: TOKENS[role] for role in ("moderator", "host")}}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_START, str(cfg)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "starting"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err  # not -15: the signal waited for start-up
    assert "shutting down" in err and "Townhall is serving" not in err
    Store(tmp_path / "t.db").open().close()  # the store's lock was released
