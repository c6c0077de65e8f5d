"""The page URLs and terminal commands to hand out, named as the user can type them.

Why `invoked_as()`: after `make demo` the command is `.venv/bin/townhall`, not `townhall` (which
is not on the PATH), so a banner saying `townhall host ...` gave a command that does not run.
Textual-free: `townhall demo --headless` and `serve` use it too.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from aggregator.config import Config
from aggregator.remote import websocket_url


def invoked_as(argv0: str | None = None) -> str:
    """The townhall command as the user typed it: `.venv/bin/townhall`, `townhall` when that
    is what the PATH finds, or `python -m townhall` when run as a module."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    name = Path(argv0).name
    if not argv0 or name in ("-c", "-m") or name.endswith(".py"):
        return f"{shlex.quote(sys.executable)} -m townhall"
    return shlex.quote(argv0)


def base_url(config: Config, port: int) -> str:
    """http://host:port of this server as a browser on the same machine reaches it."""
    host = config.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def page_url(base: str, page: str, token: str | None) -> str:
    """`base`/`page` with the role's token after `#token=`: browsers never send a fragment to
    the server, and the page reads it from there (a role without a token: no fragment)."""
    return f"{base}/{page}" + (f"#token={token}" if token else "")


def page_urls(config: Config, port: int, *, command: str | None = None
              ) -> list[tuple[str, str]]:
    """(label, URL or command) for the host page, the overlay and the terminal clients, with
    the tokens of this config's environment (a role without a token gets a URL without one)."""
    server = config.server
    base = base_url(config, port)
    ws = websocket_url(base)
    cmd = command or invoked_as()

    def flag(env: str) -> str:
        token = config.secret(env)
        return f" --token {shlex.quote(token)}" if token else ""

    return [
        ("host page (the host's browser)",
         page_url(base, "host", config.secret(server.host_token_env))),
        ("stream overlay (OBS browser source)",
         page_url(base, "overlay", config.secret(server.overlay_token_env))),
        ("host in a terminal", f"{cmd} host {ws}{flag(server.host_token_env)}"),
        ("another moderator",
         f"{cmd} connect {ws}{flag(server.moderator_token_env)} --name THEIR_NAME"),
    ]
