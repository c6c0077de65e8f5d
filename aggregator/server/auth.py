"""Who may connect to `/ws`, and whether the server may listen where it is asked to.

Tokens come from the environment variables that `[server] *_token_env` name (never from the
file, never logged). Roles are ordered (aggregator/roles.py): a token valid for a role also
opens the roles below it, so a moderator can open the host view with their own token.

A role whose token is not configured is open only while the server listens on loopback: on a
laptop nobody else can reach it. On any other address the server refuses to start unless at
least one token is set (anyone who can reach it could moderate otherwise), and a role without
a token is then closed.
"""

from __future__ import annotations

import hmac

from ..config import Config, ConfigError
from ..net import is_loopback
from ..roles import is_role, opened_by

__all__ = ["Tokens", "check_bind", "is_loopback"]


class Tokens:
    """The configured token of each role, and the constant-time check of a presented one."""

    def __init__(self, tokens: dict[str, str | None], *, loopback: bool) -> None:
        self._tokens = {role: tok.encode() for role, tok in tokens.items() if tok}
        self.loopback = loopback

    @classmethod
    def from_config(cls, config: Config) -> Tokens:
        server = config.server
        return cls({
            "moderator": config.secret(server.moderator_token_env),
            "host": config.secret(server.host_token_env),
            "overlay": config.secret(server.overlay_token_env),
        }, loopback=is_loopback(server.host))

    @property
    def any(self) -> bool:
        return bool(self._tokens)

    def configured(self, role: str) -> bool:
        return role in self._tokens

    def allows(self, role: str, presented: str | None) -> bool:
        """True when `presented` opens `role` (checked against every role at or above it)."""
        if not is_role(role):
            return False
        candidate = (presented or "").encode()
        matched = False
        # Compare against every configured token so the time taken does not reveal which
        # role's token was close; compare_digest itself is constant-time per pair.
        for other in opened_by(role):
            token = self._tokens.get(other)
            if token is not None and hmac.compare_digest(candidate, token):
                matched = True
        if matched:
            return True
        return self.loopback and not self.configured(role)


def check_bind(config: Config) -> None:
    """Refuse to listen on a non-loopback address while no token is configured."""
    server = config.server
    if is_loopback(server.host) or Tokens.from_config(config).any:
        return
    names = ", ".join(f"${env}" for env in (server.moderator_token_env, server.host_token_env,
                                           server.overlay_token_env))
    raise ConfigError(
        config.source, "[server] host",
        f"{server.host} is reachable from other machines and no token is set in {names}",
        f"export a long random token in {server.moderator_token_env} (and the host and "
        "overlay ones), or set host = \"127.0.0.1\"")
