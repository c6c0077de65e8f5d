"""Opening an authenticated IMAP connection safely.

Gmail and Microsoft 365 no longer take a plain password over IMAP: an app password or SASL
XOAUTH2 (docs/platforms.md, Email).

- TLS on connect (`security = "tls"`, port 993), STARTTLS (`"starttls"`, port 143), or plain
  text (`"plain"`), which is refused for anything but a loopback address unless
  `allow_plain_remote = true`: a password must not cross a network in clear text by accident.
- Certificates are always verified (`ssl.create_default_context`); `ca_file` adds a CA bundle
  for a private server. There is deliberately no switch to turn verification off.
- Authentication: a password or app password from the environment variable `password_env`,
  or SASL XOAUTH2 with an access token from `oauth2_token_env` or printed by
  `oauth2_token_command` (run on every connect, so it can hand out a fresh token).
- Every socket has a connect and a read timeout, so a silently dropped link raises instead of
  hanging (imapclient #449).

Secrets are read here and passed straight to IMAPClient; they never reach a log line or an
exception message (imapclient's own debug log redacts LOGIN and AUTHENTICATE).
"""

from __future__ import annotations

import shlex
import ssl
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from imapclient import IMAPClient
from imapclient.imapclient import SocketTimeout

from ..config import Config
from ..net import is_loopback
from .base import CollectorStopped


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str  # tls | starttls | plain
    username: str
    mailbox: str = "INBOX"
    allow_plain_remote: bool = False
    ca_file: str = ""
    password_env: str = "TOWNHALL_IMAP_PASSWORD"
    oauth2_token_env: str = ""
    oauth2_token_command: str = ""
    since: date | None = None
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    #: IDLE is re-issued after this long (RFC 2177 says < 29 min; NATs drop idle links sooner).
    idle_slice: float = 120.0
    #: how often a server without IDLE is asked for new mail
    poll_interval: float = 30.0
    use_idle: bool = True
    batch_size: int = 100

    @classmethod
    def from_config(cls, config: Config, **overrides: object) -> ImapSettings:
        mail = config.email
        values: dict[str, object] = dict(
            host=mail.host, port=mail.port, security=mail.security, username=mail.username,
            mailbox=mail.mailbox or "INBOX", allow_plain_remote=mail.allow_plain_remote,
            ca_file=mail.ca_file, password_env=mail.password_env,
            oauth2_token_env=mail.oauth2_token_env,
            oauth2_token_command=mail.oauth2_token_command,
            since=date.fromisoformat(mail.since) if mail.since else None,
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def checkpoint_name(self) -> str:
        return f"email:imap:{self.username}@{self.host}:{self.port}/{self.mailbox}"


def ssl_context(settings: ImapSettings) -> ssl.SSLContext:
    """A verifying TLS context: the system CAs, or only `ca_file` when one is configured."""
    try:
        return ssl.create_default_context(cafile=settings.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise CollectorStopped(
            f"[email] ca_file {settings.ca_file!r} cannot be loaded ({exc}); "
            "point it at a PEM file with the server's CA certificate") from None


@dataclass(frozen=True)
class Login:
    """How to log in; `secret` is a password or an access token, never printed."""

    kind: str  # "password" | "xoauth2"
    user: str
    secret: str

    def __repr__(self) -> str:
        return f"Login(kind={self.kind!r}, user={self.user!r}, secret=***)"


def token_from_command(command: str, timeout: float = 30.0) -> str:
    """Run the configured token command and return the access token it prints."""
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True,
                              timeout=timeout, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"[email] oauth2_token_command could not run: {type(exc).__name__}"
                           ) from None
    token = done.stdout.strip()
    if done.returncode != 0 or not token:
        # stderr may hold a token or a refresh token: report only the exit status
        raise RuntimeError(f"[email] oauth2_token_command failed (exit status {done.returncode}"
                           f"{', no output' if not token else ''})")
    return token.splitlines()[-1].strip()


def resolve_login(settings: ImapSettings, secret: Callable[[str], str | None]) -> Login:
    """The credentials the config names; CollectorStopped says which key or variable is missing."""
    if not settings.username:
        raise CollectorStopped("[email] username is empty: set it to the mailbox's login name")
    if settings.oauth2_token_command:
        return Login("xoauth2", settings.username, token_from_command(settings.oauth2_token_command))
    if settings.oauth2_token_env:
        token = secret(settings.oauth2_token_env)
        if not token:
            raise CollectorStopped(
                f"environment variable {settings.oauth2_token_env} (named by [email] "
                "oauth2_token_env) is not set: export an XOAUTH2 access token in it")
        return Login("xoauth2", settings.username, token)
    password = secret(settings.password_env)
    if not password:
        raise CollectorStopped(
            f"environment variable {settings.password_env} (named by [email] password_env) is "
            "not set: export the mailbox's password or app password in it")
    return Login("password", settings.username, password)


def check_security(settings: ImapSettings) -> None:
    if not settings.host:
        raise CollectorStopped("[email] host is empty: set the IMAP server (or [email] maildir)")
    if settings.security == "plain" and not (settings.allow_plain_remote
                                             or is_loopback(settings.host)):
        raise CollectorStopped(
            f"[email] security = \"plain\" would send the password to {settings.host} "
            "unencrypted: use \"tls\" (port 993) or \"starttls\" (port 143), or set "
            "allow_plain_remote = true if the link is protected some other way")


def connect(settings: ImapSettings, login: Login) -> IMAPClient:
    """A logged-in IMAPClient; raises on network, TLS or login failure."""
    check_security(settings)
    timeout = SocketTimeout(connect=settings.connect_timeout, read=settings.read_timeout)
    use_tls = settings.security == "tls"
    context = ssl_context(settings) if settings.security != "plain" else None
    client = IMAPClient(settings.host, port=settings.port, ssl=use_tls, ssl_context=context,
                        timeout=timeout)
    try:
        if settings.security == "starttls":
            client.starttls(context)
        if login.kind == "xoauth2":
            client.oauth2_login(login.user, login.secret)
        else:
            client.login(login.user, login.secret)
    except BaseException:
        close_quietly(client)
        raise
    return client


def close_quietly(client: IMAPClient | None) -> None:
    """Drop the connection without waiting on a server that may be gone."""
    if client is None:
        return
    try:
        client.shutdown()
    except Exception:  # noqa: BLE001 - already closed or broken; nothing left to do
        pass
