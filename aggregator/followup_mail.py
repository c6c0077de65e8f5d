"""`townhall followup send`: mail each email asker the written answer to their question.

A follow-up question's `note` is its written answer. Every asker of it who came by email
(merged duplicates included) gets one mail, sent as a reply to their own mail: `In-Reply-To`
and `References` carry its Message-ID, so it lands in the asker's thread. Askers from YouTube
and Zoom have no private channel; the published notes page answers them.

Never the same answer twice. Each mail is recorded in the question's history through the queue
(ops `mail_sending`, `mail_sent`, `mail_failed` in aggregator/commands.py, kept per recipient in
`meta["mail"]`, with a hash of the answer and the mail's Message-ID):

1. `mail_sending` is committed *before* the mail goes to the server;
2. the mail is handed to the server;
3. `mail_sent` is committed once the server accepted it (`mail_failed` when it refused it
   outright: that mail may be sent again by the next run).

A crash between 1 and 3 leaves `sending`: the server may or may not have the mail. We chose
at-most-once: a re-run does not send it again on its own, it names it as unconfirmed, and
`--resend N` sends it again with the same Message-ID (mail clients that already hold the first
copy treat the second as the same message). A reader who gets no answer is a smaller harm than
one who gets it twice, and the person running the command can check the sent mail first.
An answer edited after it was sent is a new answer and is mailed again.

Drafts (without `--send`) only read the store; sending opens it as its owner, so no server may
run on it at the same time.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, TextIO

from .commands import Command, CommandError
from .config import Config, ConfigError
from .model import Asker, Question, Status
from .privacy import confirmed
from .sanitize import clean_line
from .store import Store, StoreError, StoreLocked

ACTOR = "followup-send"
#: a Message-ID we can put back in a header: no brackets, spaces or control characters
_MESSAGE_ID = re.compile(r"^[!-;=?-~]+@[!-;=?-~]+$")


class MailError(Exception):
    """A failure worded for the person running the command (one line)."""


@dataclass
class MailDraft:
    question: Question
    asker: Asker
    to: str
    answer: str
    answer_key: str
    #: new | changed (answer edited since it was sent) | failed | sending (unconfirmed) | sent
    state: str
    message_id: str  # the recorded one (sending), else "" until a mail is built
    in_reply_to: str  # the asker's Message-ID, "" when unknown
    subject: str
    #: the asker's own question as they wrote it (or its edited wording): never the wording of
    #: the question theirs was merged into, which may be someone else's private message
    wording: str = ""

    @property
    def key(self) -> str:
        return f"email:{self.to}"


def answer_key(answer: str) -> str:
    return "sha256:" + hashlib.sha256(answer.encode("utf-8")).hexdigest()


def _address(asker: Asker) -> str:
    raw = asker.email or asker.id
    _, address = parseaddr(raw)
    address = address.strip().lower()
    if "@" not in address or any(c.isspace() or c in "<>,;\"\\" for c in address):
        return ""
    return address


def drafts(questions: list[Question]) -> tuple[list[MailDraft], list[str]]:
    """The mails to send, and notes about follow-up questions no mail can answer."""
    by_id = {q.id: q for q in questions}
    mails: list[MailDraft] = []
    notes: list[str] = []
    for q in sorted(questions, key=lambda q: q.id):
        if q.status is not Status.FOLLOW_UP:
            continue
        email_askers = [a for a in q.askers if a.source == "email"]
        others = [a for a in q.askers if a.source != "email"]
        if not q.note:
            notes.append(f"#{q.id}: no written answer yet (write it as the question's note)")
            continue
        if others:
            channels = sorted({a.source for a in others})
            notes.append(f"#{q.id}: {len(others)} asker(s) from {', '.join(channels)} have no "
                         "private channel; the published notes page answers them")
        recorded = q.meta.get("mail") or {}
        seen: set[str] = set()
        for asker in email_askers:
            original = by_id.get(asker.question or q.id) or q
            meta = original.meta or {}
            # A reply goes where the asker's mail asked replies to go, as any mail client
            # does: a list that rewrites From (for DMARC) names the member in Reply-To.
            reply_to = meta.get("reply_to") if original.source == "email" else None
            to = _address(Asker(source="email", name=asker.name, id=str(reply_to))
                          ) if isinstance(reply_to, str) and reply_to else _address(asker)
            if not to:
                notes.append(f"#{q.id}: asker {asker.name!r} has no usable mail address")
                continue
            if to in seen:
                continue
            seen.add(to)
            mid = str(meta.get("message_id") or "")
            subject = clean_line(str(meta.get("subject") or ""), 200) or "Your question"
            key = answer_key(q.note)
            record = recorded.get(f"email:{to}") or {}
            state = record.get("state")
            if state == "sent":
                state = "sent" if record.get("answer") == key else "changed"
            elif state not in ("sending", "failed"):
                state = "new"
            mails.append(MailDraft(
                question=q, asker=asker, to=to, answer=q.note, answer_key=key, state=state,
                message_id=str(record.get("message_id") or "") if state == "sending" else "",
                in_reply_to=mid if _MESSAGE_ID.match(mid) else "",
                subject=subject if subject.lower().startswith("re:") else f"Re: {subject}",
                wording=(original.display_text if original is not q or confirmed(q) else "")))
    return mails, notes


def body(draft: MailDraft, config: Config, page_url: str) -> str:
    quoted = ["> " + line for line in draft.wording.splitlines()]
    lines = [f"Hello {draft.asker.name},", "",
             f"thank you for your question to {config.meeting.title}"
             + (":" if quoted else "."), "", *quoted, *([""] if quoted else []),
             draft.answer, ""]
    if page_url:
        lines += [f"The notes of the meeting, with every answer: {page_url}", ""]
    lines += ["-- ", config.meeting.title]
    return "\n".join(lines) + "\n"


def build(draft: MailDraft, config: Config, page_url: str, message_id: str) -> EmailMessage:
    """The reply; raises ValueError when a header cannot be written (a hostile address)."""
    msg = EmailMessage()
    msg["From"] = config.smtp.from_
    msg["To"] = Address(addr_spec=draft.to)
    msg["Subject"] = draft.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id
    if draft.in_reply_to:
        msg["In-Reply-To"] = f"<{draft.in_reply_to}>"
        msg["References"] = f"<{draft.in_reply_to}>"
    msg.set_content(body(draft, config, page_url))
    return msg


def _new_message_id(config: Config) -> str:
    domain = parseaddr(config.smtp.from_)[1].rpartition("@")[2] or "townhall.invalid"
    return make_msgid(domain=domain)


# --- output ----------------------------------------------------------------------------------

_LABELS = {"new": "to send", "changed": "the answer changed since it was sent: to send again",
           "failed": "refused by the server last time: to send again",
           "sending": "UNCONFIRMED: a run stopped while sending it; check the sent mail, then "
                      "--resend {id} if it did not go out",
           "sent": "already sent"}


def print_draft(draft: MailDraft, config: Config, page_url: str, out: TextIO) -> None:
    label = _LABELS[draft.state].format(id=draft.question.id)
    out.write(f"=== #{draft.question.id} to {draft.to} ({label})\n")
    out.write(f"Subject: {draft.subject}\n")
    if draft.in_reply_to:
        out.write(f"In-Reply-To: <{draft.in_reply_to}>\n")
    out.write("\n" + body(draft, config, page_url) + "\n")


# --- sending ---------------------------------------------------------------------------------


def smtp_password(config: Config) -> str | None:
    """The SMTP password from its environment variable, once [smtp] names a server and a
    sender: ConfigError or MailError (both say what to fix) otherwise."""
    smtp = config.smtp
    if not smtp.host:
        raise ConfigError(config.source, "[smtp] host", "is empty",
                          'the mail server to send through, e.g. host = "smtp.example.org"')
    if not smtp.from_:
        raise ConfigError(config.source, "[smtp] from", "is empty",
                          'e.g. from = "Answers <answers@example.org>"')
    password = config.secret(smtp.password_env)
    if smtp.username and password is None:
        raise MailError(f"the environment variable {smtp.password_env} (named by [smtp] "
                        "password_env) is not set: export the SMTP password there")
    return password


def connect(config: Config, password: str | None, *, timeout: float = 30) -> smtplib.SMTP:
    """A logged-in SMTP connection, certificates verified (`[smtp] ca_file` adds a CA)."""
    smtp = config.smtp
    where = f"{smtp.host}:{smtp.port}"
    cafile = str(config.relative(smtp.ca_file)) if smtp.ca_file else None
    conn: smtplib.SMTP | None = None
    try:
        context = ssl.create_default_context(cafile=cafile)
        if smtp.security == "tls":
            conn = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
        else:
            conn = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
            if smtp.security == "starttls":
                conn.starttls(context=context)
        conn.ehlo_or_helo_if_needed()
        if smtp.username:
            conn.login(smtp.username, password or "")
        return conn
    except smtplib.SMTPAuthenticationError as exc:
        _quit(conn)
        raise MailError(f"the SMTP server {where} refused the login of {smtp.username!r} "
                        f"({exc.smtp_code} {_text(exc.smtp_error)}): check [smtp] username "
                        f"and the password in ${smtp.password_env}") from None
    except smtplib.SMTPNotSupportedError as exc:
        _quit(conn)
        raise MailError(f"the SMTP server {where} does not offer {_text(exc)}: check [smtp] "
                        "security and port") from None
    except ssl.SSLCertVerificationError as exc:
        _quit(conn)
        raise MailError(f"the certificate of {where} is not trusted ({exc.verify_message}): "
                        "for a private CA set [smtp] ca_file") from None
    except FileNotFoundError:
        raise MailError(f"[smtp] ca_file {cafile} does not exist") from None
    except (smtplib.SMTPException, OSError) as exc:
        _quit(conn)
        raise MailError(f"cannot talk to the SMTP server {where}: "
                        f"{type(exc).__name__}: {_text(exc)}") from None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return clean_line(str(value), 300)


def _quit(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


async def send_all(config: Config, store: Store, page_url: str, resend: set[int],
                   out: TextIO) -> int:
    """Send every due mail; returns the exit status (1 when a mail was left undecided)."""
    from .queue import QuestionQueue

    password = smtp_password(config)
    queue = QuestionQueue(store)
    await queue.start()
    conn: smtplib.SMTP | None = None
    status = 0
    try:
        mails, notes = drafts(queue.all())
        for note in notes:
            out.write(note + "\n")
        due = [d for d in mails if d.state in ("new", "changed", "failed")
               or (d.state == "sending" and d.question.id in resend)]
        for d in mails:
            if d not in due:
                out.write(f"#{d.question.id} to {d.to}: "
                          f"{_LABELS[d.state].format(id=d.question.id)}\n")
        if not due:
            out.write("nothing to send\n")
            return 1 if any(d.state == "sending" for d in mails) else 0
        conn = await asyncio.to_thread(connect, config, password)
        for d in due:
            message_id = d.message_id or _new_message_id(config)
            try:
                msg = build(d, config, page_url, message_id)
            except (ValueError, TypeError) as exc:
                out.write(f"#{d.question.id} to {d.to}: cannot write the mail ({exc})\n")
                status = 1
                continue
            args = {"to": d.key, "answer": d.answer_key, "message_id": message_id}
            await queue.apply(Command(op="mail_sending", question=d.question.id, args=args),
                              ACTOR)
            try:
                await asyncio.to_thread(conn.send_message, msg)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError) as exc:
                await queue.apply(Command(op="mail_failed", question=d.question.id,
                                          args={**args, "error": _text(exc)}), ACTOR)
                out.write(f"#{d.question.id} to {d.to}: refused by the server: {_text(exc)}\n")
                status = 1
                continue
            except (smtplib.SMTPException, OSError) as exc:
                out.write(f"#{d.question.id} to {d.to}: the connection failed while sending "
                          f"({_text(exc)}); it may or may not have gone out: check the sent "
                          f"mail, then --resend {d.question.id} if needed\n")
                return 1
            await queue.apply(Command(op="mail_sent", question=d.question.id, args=args),
                              ACTOR)
            out.write(f"#{d.question.id}: sent to {d.to} ({message_id})\n")
        if any(d.state == "sending" and d not in due for d in mails):
            status = 1
        return status
    except CommandError as exc:
        raise MailError(f"could not record the mail: {exc.message}") from None
    finally:
        if conn is not None:
            await asyncio.to_thread(_quit, conn)
        await queue.close()


def run_followup(config: Config, *, send: bool, resend: list[int], out: TextIO) -> int:
    """The CLI entry point: print the drafts, or send them (`send`)."""
    from .publish import last_published

    record = last_published(config) if config.wiki.api_url and config.wiki.page else None
    page_url = str(record.get("url") or "") if record else ""
    path = config.store_path
    if not path.exists():
        raise MailError(f"no database at {path} (set [store] path)")
    if not send:
        store = Store(path, exclusive=False).open()
        try:
            mails, notes = drafts(store.load_questions())
        finally:
            store.close()
        for d in mails:
            print_draft(d, config, page_url, out)
        for note in notes:
            out.write(note + "\n")
        due = sum(1 for d in mails if d.state in ("new", "changed", "failed"))
        out.write(f"{due} mail(s) to send; run again with --send to send them\n")
        return 0
    try:
        store = Store(path).open()
    except StoreLocked as exc:
        raise MailError(f"cannot send while a server owns the store: {exc}") from None
    try:
        return asyncio.run(send_all(config, store, page_url, set(resend), out))
    except StoreError as exc:
        raise MailError(str(exc)) from None
    finally:
        store.close()
