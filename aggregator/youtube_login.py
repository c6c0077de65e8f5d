"""`townhall youtube-login` and the OAuth token file the YouTube collector reads.

OAuth is needed only to find the chat of your own live broadcast without naming the video
(`liveBroadcasts.list`), or to read a chat an API key may not see; an API key is enough for a
public or unlisted video's chat (`videos.list` and `liveChatMessages.list` accept a key).

The installed-app flow (google-auth-oauthlib `run_local_server`) opens the consent page; the
token file (`creds.to_json()`, which holds the refresh token) is written owner-only (0600),
atomically, outside the store. An expired access token is refreshed and saved back. A revoked or
expired refresh token gives a message that says what to do, not a traceback.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .config import Config, ConfigError
from .net import is_loopback
from .sanitize import clean_line

SCOPES = ["https://www.googleapis.com/auth/youtube.readonly"]


class TokenError(Exception):
    """The token file is missing, unreadable, or its refresh token no longer works."""


def load_credentials(path: str | Path) -> Any:
    """The credentials in the token file, refreshed (and saved) when the access token expired."""
    from google.oauth2.credentials import Credentials

    path = Path(path).expanduser()
    if not path.is_file():
        raise TokenError(f"no YouTube token file at {path}: run `townhall youtube-login`")
    try:
        info = json.loads(path.read_text())
        creds = Credentials.from_authorized_user_info(info, SCOPES)
        token_uri = info.get("token_uri")
        if isinstance(token_uri, str) and token_uri != creds.token_uri \
                and _is_loopback(token_uri):
            creds = creds.with_token_uri(token_uri)
    except (ValueError, OSError, AttributeError) as exc:
        raise TokenError(f"the YouTube token file {path} is unreadable "
                         f"({clean_line(str(exc), 150)}): run `townhall youtube-login` again"
                         ) from None
    if not creds.valid:
        refresh(creds, path)
    return creds


def refresh(creds: Any, path: str | Path) -> None:
    from google.auth.exceptions import RefreshError, TransportError
    from google.auth.transport.requests import Request

    if not creds.refresh_token:
        raise TokenError(f"the YouTube token in {path} has expired and has no refresh token: "
                         "run `townhall youtube-login` again")
    try:
        creds.refresh(Request())
    except RefreshError as exc:
        raise TokenError(revoked_message(path, exc)) from None
    except TransportError as exc:  # transient: the caller retries later
        raise ConnectionError(f"could not reach Google to refresh the YouTube token "
                         f"({clean_line(str(exc), 150)}); check the network and retry") from None
    save_credentials(creds, path)


def _is_loopback(url: str) -> bool:
    """google-auth always sends refreshes to Google's endpoint, whatever the file says (a
    crafted token file must not send the refresh token elsewhere). We make one exception: a
    token endpoint on this machine, which is how the tests and `townhall demo` run OAuth
    against the local fake (townhall/simulators/youtube_api.py)."""
    from urllib.parse import urlsplit

    try:
        return is_loopback(urlsplit(url).hostname)
    except ValueError:
        return False


def revoked_message(path: str | Path, exc: Exception) -> str:
    detail = clean_line(exc.args[0] if exc.args else exc, 150)
    return (f"the YouTube token in {path} was revoked or has expired ({detail}). Run "
            "`townhall youtube-login` again. If this happens every 7 days, the OAuth app is in "
            "'Testing' status in the Google Cloud console: publish it.")


def save_credentials(creds: Any, path: str | Path) -> None:
    """Write the token file owner-only (0600), atomically: never a half-written token."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".youtube-token-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(creds.to_json())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def login(config: Config, *, open_browser: bool = True, port: int = 0,
          timeout_seconds: int = 300) -> str:
    """Run the consent flow (or refresh a still-valid token); returns a summary line."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    yt = config.youtube
    if not yt.oauth_token_file:
        raise ConfigError(config.source, "[youtube] oauth_token_file", "is empty",
                          'name the file to write, e.g. oauth_token_file = "youtube-token.json"')
    token_path = config.relative(yt.oauth_token_file)
    if token_path.is_file():
        try:
            load_credentials(token_path)
            return f"the YouTube token in {token_path} is valid (refreshed if it had expired)"
        except TokenError:
            pass  # consent again below
    if not yt.client_secrets_file:
        raise ConfigError(config.source, "[youtube] client_secrets_file", "is empty",
                          "download the OAuth client (type Desktop app) from the Google Cloud "
                          "console, APIs & Services > Credentials, and name the file here")
    secrets = config.relative(yt.client_secrets_file)
    if not secrets.is_file():
        raise ConfigError(config.source, "[youtube] client_secrets_file",
                          f"{secrets} does not exist", "download the Desktop app OAuth client")
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(secrets), scopes=SCOPES)
    except ValueError as exc:
        raise ConfigError(config.source, "[youtube] client_secrets_file",
                          f"{secrets} is not an OAuth client file ({clean_line(str(exc), 150)})",
                          "download the Desktop app OAuth client JSON again") from None
    from google_auth_oauthlib.flow import WSGITimeoutError
    from oauthlib.oauth2 import OAuth2Error

    try:
        creds = flow.run_local_server(
            host="localhost", bind_addr="127.0.0.1", port=port, open_browser=open_browser,
            timeout_seconds=timeout_seconds,
            authorization_prompt_message="Open this URL in your browser to let Townhall read "
                                         "YouTube live chat:\n{url}",
            success_message="Townhall can now read your YouTube live chat. You may close this "
                            "tab.",
            access_type="offline", prompt="consent")
    except WSGITimeoutError:
        raise TokenError(f"no consent arrived within {timeout_seconds} s; run "
                         "`townhall youtube-login` again (--timeout to wait longer)") from None
    except (OAuth2Error, ValueError) as exc:
        raise TokenError(f"Google refused the login ({clean_line(str(exc), 200)}); "
                         "run `townhall youtube-login` again") from None
    save_credentials(creds, token_path)
    return f"saved the YouTube token to {token_path} (readable only by you)"

