"""`townhall tokens`: three new role tokens as shell exports, and the page URLs that carry them.

Why a command: the tokens must be long and random (`secrets`), exported under the names the
config's `[server] *_token_env` keys give, and the host page and overlay URLs must carry them
in the fragment (`#token=`, never sent to the server). Doing that by hand on the day of the call
is where mistakes happen. Everything that is not an `export` line is a `#` comment, so
`eval "$(townhall tokens)"` is safe.
"""

from __future__ import annotations

import secrets
import shlex
import socket
from urllib.parse import urlsplit

from aggregator.config import Config
from aggregator.remote import websocket_url

from .urls import page_url

#: role -> (the [server] key naming its variable, what its URL is for)
ROLES = {
    "moderator": "moderator_token_env",
    "host": "host_token_env",
    "overlay": "overlay_token_env",
}
#: 32 random bytes: as strong as the HMAC the tokens are compared with, URL-safe as it is.
TOKEN_BYTES = 32
_WILDCARD = ("", "0.0.0.0", "::")


def new_tokens(config: Config) -> dict[str, tuple[str, str]]:
    """role -> (variable name, token). Roles whose variable is not named get no entry; roles
    sharing a variable share its token (the last export would win otherwise)."""
    by_variable: dict[str, str] = {}
    tokens: dict[str, tuple[str, str]] = {}
    for role, key in ROLES.items():
        variable = getattr(config.server, key)
        if variable:
            token = by_variable.setdefault(variable, secrets.token_urlsafe(TOKEN_BYTES))
            tokens[role] = (variable, token)
    return tokens


def base_url(config: Config, url: str | None = None) -> str:
    """Where browsers reach the server: `url` (a TLS proxy or tunnel) or the configured
    address. Raises ValueError for a URL the pages cannot live under."""
    if url:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError("give the server's root (e.g. https://townhall.example.org): the "
                             "pages, /ws and /static/ are served from /")
        return f"{parts.scheme}://{parts.netloc}"
    host = config.server.host
    if host in _WILDCARD:  # listening on every interface: this machine's name reaches it
        host = socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{config.server.port}"


def render_tokens(config: Config, url: str | None = None) -> str:
    """The text `townhall tokens` prints."""
    base = base_url(config, url)
    websocket = websocket_url(base)
    tokens = new_tokens(config)
    lines = [f"# New Townhall role tokens (config: {config.source or 'none, defaults'}).",
             "# Export them where the server starts (`townhall serve` or `run`), then (re)start it.",
             "# Anyone with a URL below can open that page: share each with its user only."]
    for role, key in ROLES.items():
        if role in tokens:
            variable, token = tokens[role]
            lines.append(f"export {variable}={shlex.quote(token)}")
        else:
            lines.append(f"# [server] {key} is empty: the {role} role has no token (open on "
                         "loopback, closed on any other address)")
    if written := [t[0] for t in tokens.values()]:
        if len(set(written)) < len(written):
            lines.append("# (several roles share one variable, so they share one token)")

    def page(name: str, role: str) -> str:
        return page_url(base, name, tokens[role][1] if role in tokens else None)

    lines += [
        "#",
        "# host page, on the host's laptop (n, space or the button: next question;",
        "# add &askers=1 to list everyone who asked):",
        f"#   {page('host', 'host')}",
        "# stream overlay, as an OBS browser source of 1920x1080 (transparent background):",
        f"#   {page('overlay', 'overlay')}",
        "# moderators on other machines, with the moderator token exported as",
        "# TOWNHALL_MODERATOR_TOKEN (or given with --token):",
        f"#   townhall connect {websocket} --name NAME",
    ]
    if base.startswith("http:") and not _loopback_url(base):
        lines.append("# warning: http:// sends these tokens unencrypted across the network; put "
                     "the server behind a TLS proxy or tunnel and pass its https:// URL as --url")
    return "\n".join(lines) + "\n"


def _loopback_url(base: str) -> bool:
    from aggregator.net import is_loopback

    return is_loopback(urlsplit(base).hostname)
