"""The mail checks of `townhall preflight` (see preflight.py): IMAP or Maildir, and SMTP.

IMAP: log in exactly as the collector does (imap_connect.py), EXAMINE the mailbox, and count
the mails the collector would take: the same `since` search and rule (mail_since.py) and the
same subject rules (email_parse.evaluate over the headers). Only headers are fetched, at most
`MAX_COUNTED` of the newest, so a huge mailbox cannot stall the check. The client is
synchronous: it runs in a thread with socket timeouts, so it ends even when the check's
timeout has already answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import ssl
from datetime import date
from pathlib import Path
from typing import Any

from .collectors.base import CollectorStopped
from .collectors.email_parse import evaluate
from .collectors.email_rules import SubjectRules
from .collectors.mail_since import sent_before
from .config import Config, ConfigError
from .preflight import Result, fail, ok
from .sanitize import clean_line

MAX_COUNTED = 5000
PAGE = 500


def _rules(config: Config) -> SubjectRules:
    mail = config.email
    return SubjectRules(mail.subject_include, mail.subject_exclude, mail.include_replies)


def _since(config: Config) -> date | None:
    return date.fromisoformat(config.email.since) if config.email.since else None


def _matching(headers: list[tuple[bytes, Any]], rules: SubjectRules, since: date | None) -> int:
    return sum(1 for raw, arrived in headers
               if not sent_before(raw, since, arrived) and evaluate(raw, rules).incoming)


async def check_email(config: Config, timeout: float) -> Result:
    if not config.email.subject_include:
        return fail("email", "[email] subject_include is empty: no mail would count as a "
                             "question", 'e.g. subject_include = ["Question for Maggie"]')
    if config.email.maildir:
        return await asyncio.to_thread(_check_maildir, config)
    return await asyncio.to_thread(_check_imap, config, timeout)


def _since_text(since: date | None) -> str:
    return f"since {since.isoformat()}" if since else "in the whole mailbox ([email] since unset)"


def _check_maildir(config: Config) -> Result:
    path = Path(config.email.maildir).expanduser()
    if not (path / "new").is_dir() and not (path / "cur").is_dir():
        return fail("email", f"{path} is not a Maildir folder (no new/ or cur/)",
                    "point [email] maildir at the folder that holds new/, cur/ and tmp/")
    from datetime import datetime, timezone

    files = sorted((p for sub in ("new", "cur") for p in (path / sub).iterdir()
                    if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
    headers = []
    for file in files[-MAX_COUNTED:]:
        try:
            with open(file, "rb") as fh:
                raw = fh.read(64 * 1024)
        except OSError:
            continue
        arrived = datetime.fromtimestamp(file.stat().st_mtime, timezone.utc)
        headers.append((raw, arrived))
    since = _since(config)
    count = _matching(headers, _rules(config), since)
    return ok("email", f"Maildir {path} readable; {count} mails match the subject rules "
                       f"{_since_text(since)}")


def _check_imap(config: Config, timeout: float) -> Result:
    from imapclient.exceptions import IMAPClientError, LoginError

    from .collectors.imap_connect import ImapSettings, close_quietly, connect, resolve_login

    settings = ImapSettings.from_config(config, connect_timeout=timeout, read_timeout=timeout)
    where = f"{settings.host}:{settings.port}"
    try:
        login = resolve_login(settings, config.secret)
    except (CollectorStopped, RuntimeError) as exc:
        return fail("email", str(exc))
    client = None
    try:
        client = connect(settings, login)
    except CollectorStopped as exc:
        return fail("email", str(exc))
    except LoginError:
        how = ("the token ([email] oauth2_token_env / oauth2_token_command)"
               if login.kind == "xoauth2" else f"the password in ${settings.password_env}")
        return fail("email", f"{where} refused the login of {settings.username}",
                    f"check {how}; Gmail and Microsoft 365 need an app password or OAuth")
    except ssl.SSLCertVerificationError as exc:
        return fail("email", f"the certificate of {settings.host} is not trusted "
                             f"({exc.verify_message})",
                    "set [email] ca_file to the server's CA certificate")
    except (OSError, IMAPClientError) as exc:
        return fail("email", f"cannot connect to {where} ({type(exc).__name__}: "
                             f"{clean_line(exc, 120)})",
                    "check [email] host, port and security")
    try:
        try:
            info = client.select_folder(settings.mailbox, readonly=True)
        except IMAPClientError:
            names = [clean_line(name, 60) for _flags, _sep, name in client.list_folders()][:8]
            return fail("email", f"logged in as {settings.username}, but mailbox "
                                 f"{settings.mailbox!r} cannot be selected",
                        f"set [email] mailbox to one of: {', '.join(names)}")
        since = _since(config)
        uids = client.search(["OR", "SENTSINCE", since, "SINCE", since] if since else ["ALL"])
        uids = sorted(uids)[-MAX_COUNTED:]
        headers: list[tuple[bytes, Any]] = []
        for start in range(0, len(uids), PAGE):
            fetched = client.fetch(uids[start:start + PAGE], ["BODY.PEEK[HEADER]", "INTERNALDATE"])
            headers += [(item.get(b"BODY[HEADER]") or b"", item.get(b"INTERNALDATE"))
                        for item in fetched.values()]
        count = _matching(headers, _rules(config), since)
    except (OSError, IMAPClientError) as exc:
        return fail("email", f"{where} failed while reading {settings.mailbox} "
                             f"({type(exc).__name__}: {clean_line(exc, 120)})")
    finally:
        close_quietly(client)
    exists = int(info.get(b"EXISTS", 0) or 0)
    capped = f" (the newest {MAX_COUNTED} counted)" if len(uids) >= MAX_COUNTED else ""
    return ok("email", f"logged in to {where} as {settings.username}; {settings.mailbox} "
                       f"selected ({exists} mails); {count} match the subject rules "
                       f"{_since_text(since)}{capped}")


# --- SMTP -------------------------------------------------------------------------------------


async def check_smtp(config: Config, timeout: float) -> Result:
    return await asyncio.to_thread(_check_smtp, config, timeout)


def _check_smtp(config: Config, timeout: float) -> Result:
    """The connection `townhall followup send` makes (aggregator/followup_mail.py): TLS as
    configured and the login; no mail is sent."""
    from .followup_mail import MailError, connect, smtp_password

    smtp = config.smtp
    try:
        conn = connect(config, smtp_password(config), timeout=timeout)
    except ConfigError as exc:
        return fail("smtp", f"{exc.key} {exc.problem}", exc.fix)
    except MailError as exc:
        return fail("smtp", clean_line(exc, 240),
                    f"check [smtp] host, port, security, username and ${smtp.password_env}")
    with contextlib.suppress(smtplib.SMTPException, OSError):
        conn.quit()
    where = f"{smtp.host}:{smtp.port}"
    done = f"logged in to {where} as {smtp.username}" if smtp.username else f"{where} answers"
    return ok("smtp", f"{done} (nothing sent)")
