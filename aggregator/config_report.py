"""What each config section still needs before the call, for `townhall check-config`.

Apart from config.py, which turns the file into valid settings: this reads those settings
against the world (environment variables, files, the email collector's own security rule) and
says, per section, ok, disabled or missing and why.
"""

from __future__ import annotations

from pathlib import Path

from .config import Config
from .net import is_loopback


def section_report(config: Config) -> list[tuple[str, str, list[str]]]:
    """(section, state, problems) for `townhall check-config`: ok, disabled or missing."""
    rows: list[tuple[str, str, list[str]]] = []

    def add(name: str, enabled: bool, problems: list[str]) -> None:
        state = "disabled" if not enabled else ("ok" if not problems else "missing")
        rows.append((name, state, problems if enabled else []))

    def need_env(key: str, env: str) -> list[str]:
        if not env:
            return [f"{key} is empty: name the environment variable that holds the secret"]
        if config.secret(env) is None:
            return [f"environment variable {env} (named by {key}) is not set"]
        return []

    rows.append(("meeting", "ok", []))
    rows.append(("store", "ok", []))
    server_problems: list[str] = []
    tokens = [config.server.moderator_token_env, config.server.host_token_env,
              config.server.overlay_token_env]
    if not is_loopback(config.server.host) and not any(
        config.secret(env) for env in tokens
    ):
        server_problems.append(
            f"host {config.server.host} is not loopback and no token is set in "
            f"{', '.join(tokens)}: the server would refuse to start"
        )
    add("server", True, server_problems)

    zoom = config.zoom
    zoom_problems: list[str] = []
    if zoom.mode == "webhook":
        zoom_problems += need_env("[zoom] secret_token_env", zoom.secret_token_env)
    else:
        if not zoom.subscription_url:
            zoom_problems.append("[zoom] subscription_url is empty (copy it from the Zoom app)")
        zoom_problems += need_env("[zoom] client_id_env", zoom.client_id_env)
        zoom_problems += need_env("[zoom] client_secret_env", zoom.client_secret_env)
        if zoom.grant_type == "account_credentials" and not zoom.account_id:
            zoom_problems.append("[zoom] account_id is empty (needed for account_credentials)")
    add("zoom", zoom.enabled, zoom_problems)

    yt = config.youtube
    yt_problems: list[str] = []
    if not yt.video and not yt.live_chat_id and not yt.oauth_token_file:
        yt_problems.append("[youtube] video or live_chat_id is empty")
    if yt.oauth_token_file:
        if not config.relative(yt.oauth_token_file).is_file():
            yt_problems.append(
                f"[youtube] oauth_token_file {yt.oauth_token_file} does not exist "
                "(run `townhall youtube-login`)"
            )
    else:
        yt_problems += need_env("[youtube] api_key_env", yt.api_key_env)
    add("youtube", yt.enabled, yt_problems)

    mail = config.email
    mail_problems: list[str] = []
    if mail.maildir:
        if not Path(mail.maildir).expanduser().is_dir():
            mail_problems.append(f"[email] maildir {mail.maildir} is not a folder")
    else:
        if not mail.host:
            mail_problems.append("[email] host is empty (or set maildir for a local folder)")
        if not mail.username:
            mail_problems.append("[email] username is empty")
        if mail.host and mail.enabled:
            mail_problems += _imap_security_problems(config)
        if not (mail.oauth2_token_env or mail.oauth2_token_command):
            mail_problems += need_env("[email] password_env", mail.password_env)
        elif mail.oauth2_token_env:
            mail_problems += need_env("[email] oauth2_token_env", mail.oauth2_token_env)
    if not mail.subject_include:
        mail_problems.append("[email] subject_include is empty: no mail would count as a question")
    add("email", mail.enabled, mail_problems)

    rows.append(("triage", "ok", []))
    rows.append(("tui", "ok", []))
    return rows


def _imap_security_problems(config: Config) -> list[str]:
    """The email collector's own refusal (a password in clear text to a remote host), so
    check-config refuses exactly what `run` would."""
    from .collectors.base import CollectorStopped
    from .collectors.imap_connect import ImapSettings, check_security

    try:
        check_security(ImapSettings.from_config(config, since=None))
    except CollectorStopped as exc:
        return [str(exc)]
    return []
