"""The commands of the day of the call: `tokens` opens exactly the roles it says against a real
server, `check-config` lists every problem `run` would refuse, and no command that prints ends
in a traceback when its reader goes away (`townhall ... | head`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aggregator.config import load_config
from townhall.runtime import Runtime

from ..conftest import ROOT, townhall
from ..ws.conftest import hello

EXPORT = re.compile(r"^export ([A-Za-z_][A-Za-z0-9_]*)=(\S+)$")
CONFIG = ('[store]\npath = "{db}"\n[server]\nport = 8765\nmoderator_token_env = "DAY_MOD"\n'
          'host_token_env = "DAY_HOST"\noverlay_token_env = "DAY_OVERLAY"\n')


def exports(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        if match := EXPORT.match(line):
            found[match.group(1)] = match.group(2)
        else:
            assert line.startswith("#"), f"not a comment, not an export: {line!r}"
    return found


def fragment_token(stdout: str, path: str) -> str:
    match = re.search(rf"https?://\S+{path}#token=(\S+)", stdout)
    assert match, f"no {path} URL in the output"
    return match.group(1)


async def test_tokens_open_each_role_on_a_real_server(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "townhall.toml"
    config_file.write_text(CONFIG.format(db=tmp_path / "t.db"))
    result = townhall("tokens", "--config", str(config_file))
    assert result.returncode == 0, result.stderr
    found = exports(result.stdout)
    assert set(found) == {"DAY_MOD", "DAY_HOST", "DAY_OVERLAY"}
    assert len(set(found.values())) == 3 and all(len(t) >= 43 for t in found.values())
    assert fragment_token(result.stdout, "/host") == found["DAY_HOST"]
    assert fragment_token(result.stdout, "/overlay") == found["DAY_OVERLAY"]
    assert "http://127.0.0.1:8765/host#token=" in result.stdout
    again = exports(townhall("tokens", "--config", str(config_file)).stdout)
    assert not set(again.values()) & set(found.values())  # new tokens at every run

    for name, value in found.items():
        monkeypatch.setenv(name, value)
    async with Runtime(load_config(config_file), collectors=[], port=0) as runtime:
        url = f"ws://127.0.0.1:{runtime.bound_port}/ws"
        for role, token in [("host", fragment_token(result.stdout, "/host")),
                            ("overlay", fragment_token(result.stdout, "/overlay")),
                            ("moderator", found["DAY_MOD"])]:
            ws, frame = await hello(url, role, token)
            await ws.close()
            assert frame["type"] == "welcome" and frame["role"] == role
        ws, frame = await hello(url, "moderator", found["DAY_HOST"])
        await ws.close()
        assert frame["type"] == "error" and frame["code"] == "forbidden"


def test_tokens_output_is_safe_to_eval(tmp_path: Path) -> None:
    config_file = tmp_path / "townhall.toml"
    config_file.write_text(CONFIG.format(db=tmp_path / "t.db"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = (f'eval "$({sys.executable} -m townhall tokens --config {config_file} '
              '--url https://townhall.example.org)" && echo "$DAY_HOST"')
    shell = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                           timeout=60, check=True)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\n", shell.stdout)


def test_tokens_behind_a_proxy_print_its_urls(tmp_path: Path) -> None:
    result = townhall("tokens", "--url", "https://townhall.example.org/", cwd=tmp_path,
                      env={"TOWNHALL_CONFIG": ""})
    assert result.returncode == 0, result.stderr
    assert "https://townhall.example.org/host#token=" in result.stdout
    assert "https://townhall.example.org/overlay#token=" in result.stdout
    assert "townhall connect wss://townhall.example.org/ws" in result.stdout
    bad = townhall("tokens", "--url", "https://townhall.example.org/townhall", cwd=tmp_path)
    assert bad.returncode == 2 and "--url" in bad.stderr and "Traceback" not in bad.stderr
    bad = townhall("tokens", "--url", "ftp://x", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_tokens_for_a_role_without_a_variable(tmp_path: Path) -> None:
    config_file = tmp_path / "townhall.toml"
    config_file.write_text('[server]\nhost_token_env = ""\n')
    result = townhall("tokens", "--config", str(config_file))
    assert set(exports(result.stdout)) == {"TOWNHALL_MODERATOR_TOKEN", "TOWNHALL_OVERLAY_TOKEN"}
    assert "host_token_env is empty" in result.stdout


def test_check_config_lists_every_error_run_would_refuse(tmp_path: Path) -> None:
    config_file = tmp_path / "townhall.toml"
    config_file.write_text('[store]\npath = ""\n[server]\nport = "x"\nprot = 1\n'
                           '[triage]\nbanned = ["justaname"]\n'
                           '[tui]\nkeymap = { aprove = "y", approve = "a" }\n')
    result = townhall("check-config", "--config", str(config_file))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for key in ("[store] path", "[server] port", "[server] prot", "[triage] banned[0]",
                "aprove"):
        assert key in result.stderr, key
    assert result.stderr.count("fix:") == 5
    assert "5 errors" in result.stdout
    assert "[zoom] disabled" in result.stdout  # the rest is still reported


def test_an_empty_store_path_is_a_config_error(tmp_path: Path) -> None:
    config_file = tmp_path / "townhall.toml"
    config_file.write_text('[store]\npath = ""\n')
    for command in ("check-config", "export"):
        extra = ["--format", "json"] if command == "export" else []
        result = townhall(command, "--config", str(config_file), *extra)
        assert result.returncode == 2 and "[store] path" in result.stderr, command


@pytest.mark.parametrize(("host", "allowed", "refused"), [
    ("imap.example.org", False, True), ("imap.example.org", True, False),
    ("127.0.0.1", False, False),
])
def test_check_config_refuses_a_password_in_clear_text_to_a_remote_host(
        tmp_path: Path, host: str, allowed: bool, refused: bool) -> None:
    config_file = tmp_path / "townhall.toml"
    config_file.write_text(f'[email]\nenabled = true\nhost = "{host}"\nport = 143\n'
                           f'security = "plain"\nusername = "u"\nsubject_include = ["Q"]\n'
                           f'allow_plain_remote = {str(allowed).lower()}\n')
    result = townhall("check-config", "--config", str(config_file),
                      env={"TOWNHALL_IMAP_PASSWORD": "pw"})
    assert ("unencrypted" in result.stdout) is refused
    assert result.returncode == (2 if refused else 0)


@pytest.mark.parametrize("args", [["check-config"], ["tokens"], ["--help"],
                                  ["export", "--format", "markdown"]])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, args: list[str]) -> None:
    """`townhall ... | head`: the reader is gone before the command writes (deterministic: the
    pipe's read end is closed before the process starts)."""
    config_file = tmp_path / "townhall.toml"
    config_file.write_text(CONFIG.format(db=tmp_path / "t.db"))
    if args[0] == "export":
        from aggregator.store import Store

        Store(tmp_path / "t.db").open().close()
    read, write = os.pipe()
    os.close(read)
    extra = ["--config", str(config_file)] if args[0] != "--help" else []
    try:
        proc = subprocess.run([sys.executable, "-m", "townhall", *args, *extra], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        os.close(write)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    # argparse swallows the error of its own --help; the commands say they could not finish
    assert proc.returncode == (0 if args == ["--help"] else 1)
