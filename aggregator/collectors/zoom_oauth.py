"""Server-to-Server OAuth access tokens for Zoom, each valid for an hour (docs/platforms.md).

Used by the websocket collector (the token goes into the connection URL) and by
`townhall zoom-import-qa` (a Bearer token for the REST API). Zoom's documents disagree on the
grant (`account_credentials` with `account_id` for S2S apps, `client_credentials` in the
official websocket sample), so both are supported through `[zoom] grant_type`.

Secrets: the client id and secret come from the environment variables the config names; neither
they nor the token ever appear in an error message or a log line (`redact()` scrubs URLs that
carry a token).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from ..config import Config
from ..sanitize import clean_line

_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s'\"]+", re.IGNORECASE)
MAX_TOKEN_RESPONSE = 64 * 1024


def redact(text: str) -> str:
    """`text` with any `access_token=...` query value replaced, for logs and health reasons."""
    return _TOKEN_IN_URL.sub(r"\1***", text)


class TokenError(Exception):
    """The token endpoint refused or failed; the message is safe to show and says what to do."""


class MissingCredentials(ValueError):
    """The config or the environment lacks what OAuth needs; the message names the key."""


@dataclass(frozen=True)
class AccessToken:
    value: str
    obtained_at: float  # monotonic seconds
    lifetime: float

    @property
    def expires_at(self) -> float:
        return self.obtained_at + self.lifetime

    @property
    def refresh_at(self) -> float:
        """When to fetch the next one: 5 minutes early, or a fifth early for short lifetimes."""
        return self.expires_at - min(300.0, self.lifetime * 0.2)


class ZoomOAuth:
    """Fetches access tokens from the token URL with HTTP Basic client authentication."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, *,
                 grant_type: str = "account_credentials", account_id: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.token_url = token_url
        # RFC 7617 Basic credentials, built with the stdlib: aiohttp's BasicAuth is deprecated
        # and its replacement exists only from aiohttp 3.14 (we support >= 3.9).
        credentials = f"{client_id}:{client_secret}".encode()
        self._authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
        self.grant_type = grant_type
        self.account_id = account_id
        self._clock = clock
        self.fetched = 0

    async def fetch(self) -> AccessToken:
        params = {"grant_type": self.grant_type}
        if self.grant_type == "account_credentials":
            params["account_id"] = self.account_id
        started = self._clock()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20),
                                             trust_env=True) as session:
                async with session.post(self.token_url, params=params,
                                        headers={"Authorization": self._authorization}) as resp:
                    raw = await resp.content.read(MAX_TOKEN_RESPONSE)
                    status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TokenError(f"cannot reach the Zoom token URL ({type(exc).__name__}: "
                             f"{redact(clean_line(exc, 150))})") from None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if status != 200:
            reason = ""
            if isinstance(data, dict):
                reason = clean_line(data.get("reason") or data.get("error") or "", 150)
            hint = (" Check the client id and secret environment variables ([zoom] "
                    "client_id_env, client_secret_env), account_id and grant_type."
                    if status in (400, 401, 403) else "")
            raise TokenError(f"the Zoom token URL answered HTTP {status}"
                             f"{': ' + reason if reason else ''}.{hint}")
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenError("the Zoom token URL answered without an access_token")
        lifetime = data.get("expires_in", 3600)
        if not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = 3600
        self.fetched += 1
        return AccessToken(token, started, float(min(lifetime, 86_400)))


def oauth_from_config(config: Config) -> ZoomOAuth:
    """A ZoomOAuth from `[zoom]` and the environment, or MissingCredentials naming the key."""
    zoom = config.zoom
    client_id = config.secret(zoom.client_id_env)
    client_secret = config.secret(zoom.client_secret_env)
    missing = [f"{env or '(none)'} (named by [zoom] {key})"
               for key, env, value in (("client_id_env", zoom.client_id_env, client_id),
                                       ("client_secret_env", zoom.client_secret_env, client_secret))
               if value is None]
    if missing:
        raise MissingCredentials(
            f"environment variable {' and '.join(missing)} not set: copy the client id and "
            "secret of your Zoom Server-to-Server OAuth app into them")
    if zoom.grant_type == "account_credentials" and not zoom.account_id:
        raise MissingCredentials(
            "[zoom] account_id is empty: copy the Account ID of your Server-to-Server OAuth app, "
            'or set grant_type = "client_credentials"')
    assert client_id is not None and client_secret is not None
    return ZoomOAuth(zoom.token_url, client_id, client_secret, grant_type=zoom.grant_type,
                     account_id=zoom.account_id)
