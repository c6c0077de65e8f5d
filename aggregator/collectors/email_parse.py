"""Raw RFC 5322 bytes -> a question (`Incoming`), robustly: mail is hostile input.

Shared by the IMAP and the Maildir collectors, pure (no I/O), so every hostile-mail case is a
unit test. What it does, and why:
- Parse with `policy.default` (decoded RFC 2047 headers); several malformed headers make that
  policy raise (an unclosed quote, a bracketed Message-ID, an encoded newline in a name, a
  parameter without a value), some inside `message_from_bytes()` itself, so any exception
  re-parses the whole mail with `policy.compat32` and decodes headers by hand.
- Body: the first non-attachment text/plain part, else text/html turned into text by a small
  stdlib HTMLParser (never rendered; html2text is GPL). Charsets Python does not know are decoded
  as UTF-8 with replacement characters instead of failing.
- Attachments are not read; their names go into `meta["attachments"]`.
- Quoted replies and signatures are stripped with mail-parser-reply; the unstripped body stays
  in `meta["raw_body"]` so the moderator can see what stripping removed.
- Everything from the mail is cleaned with `clean_text`/`clean_line` and capped here.
- The author's display name never is or contains an email address (aggregator/privacy.py):
  a sender without a display name gets one derived without the domain.
"""

from __future__ import annotations

import codecs
import email
import hashlib
import logging
import re
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from ..model import Author, Incoming, Source, to_iso
from ..privacy import public_name
from ..sanitize import MAX_TEXT, clean_line, clean_text
from .email_rules import SubjectRules, auto_generated

log = logging.getLogger("townhall.email")

#: A body longer than this is cut before stripping: quote detection is regex work, and nobody
#: asks a 100,000-character question.
MAX_BODY_CHARS = 100_000
#: How much of the unstripped body is kept in meta for the moderator.
MAX_RAW_BODY = 20_000
MAX_ATTACHMENTS = 20
#: Languages whose "On ... wrote:" / signature markers mail-parser-reply should recognise.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv"]


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without <>, "" when the mail has none
    from_name: str
    from_address: str
    reply_to: str
    subject: str
    date: str | None  # ISO-8601 UTC
    body: str  # chosen body as text, before reply stripping
    body_format: str  # "plain", "html" or "none"
    attachments: tuple[str, ...]
    auto_reason: str | None  # why it looks machine-generated, or None
    fallback: bool = False  # parsed with compat32 after policy.default failed

    @property
    def dedupe_key(self) -> str:
        """Message-ID; without one, a hash of sender, date, subject and body (Message-ID
        should be present but is not always, and the same mail must dedupe the same way)."""
        if self.message_id:
            return self.message_id
        digest = hashlib.sha256("\x00".join(
            [self.from_address, self.date or "", self.subject, self.body[:2000]]
        ).encode("utf-8", "replace")).hexdigest()
        return f"sha256:{digest[:40]}"


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse any bytes into a ParsedMail; never raises for malformed mail."""
    try:
        return _extract(email.message_from_bytes(raw, policy=policy.default), modern=True)
    except Exception as exc:  # noqa: BLE001 - header parsing bugs under policy.default
        log.debug("policy.default failed (%s); re-parsing with compat32", type(exc).__name__)
    try:
        return _extract(email.message_from_bytes(raw, policy=policy.compat32), modern=False)
    except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on deeply nested multiparts
        # The parser recurses once per MIME level, so a hostile mail can fail under both
        # policies; the headers alone still make a question (text falls back to the subject)
        # instead of a poison message that fails its whole page on every retry.
        log.info("mail body unparseable (%s); using its headers only", type(exc).__name__)
    headers = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    headers.set_payload("")
    return _extract(headers, modern=False)


def _extract(msg: Message, *, modern: bool) -> ParsedMail:
    def header(name: str) -> str | None:
        value = msg.get(name)
        if value is None:
            return None
        return str(value) if modern else _decode_compat(value)

    def raw_header(name: str) -> str:
        """Addresses come from the undecoded header: the default policy's address parser
        turns a display name with brackets into a wrong address."""
        for key, value in msg.raw_items():
            if key.lower() == name.lower():
                return _decode_compat(value)
        return ""

    from_name, from_address = _address(raw_header("From"))
    _, reply_to = _address(raw_header("Reply-To"))
    body, body_format, attachments = _body_and_attachments(msg)
    return ParsedMail(
        message_id=_message_id(header("Message-ID") or ""),
        from_name=clean_line(from_name),
        from_address=clean_line(from_address, 320).lower(),
        reply_to=clean_line(reply_to, 320).lower(),
        subject=clean_line(header("Subject") or "", 500),
        date=_date(header("Date")),
        body=body,
        body_format=body_format,
        attachments=attachments,
        auto_reason=auto_generated(header, msg.get_content_type()),
        fallback=not modern,
    )


def _decode_compat(value: Any) -> str:
    """A compat32 header (str or Header) decoded from RFC 2047, as far as it goes."""
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:  # noqa: BLE001 - broken encoded words: keep the undecoded text
        return str(value)


_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>")


def _address(value: str) -> tuple[str, str]:
    """(display name, address); a display name with brackets or quotes that confuses the
    RFC 5322 parser still yields the `<address>` it ends with."""
    name, address = parseaddr(value)
    if "@" not in address:
        match = _ANGLE_ADDRESS.search(value)
        if match:
            name, address = value[:match.start()].strip().strip('"').strip(), match.group(1)
    return name, address


def _message_id(value: str) -> str:
    value = clean_line(value, 1000)
    start, end = value.find("<"), value.rfind(">")
    if 0 <= start < end:
        value = value[start + 1:end]
    return value.strip().replace(" ", "")[:500]


def _date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return to_iso(parsedate_to_datetime(value))
    except Exception:  # noqa: BLE001 - unparseable or out-of-range dates are simply unknown
        return None


def _body_and_attachments(msg: Message) -> tuple[str, str, tuple[str, ...]]:
    plain = html = None
    attachments: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        content_type = part.get_content_type()
        if disposition == "attachment" or (filename and not content_type.startswith("text/")):
            if len(attachments) < MAX_ATTACHMENTS:
                attachments.append(clean_line(filename or content_type, 200))
            continue
        if content_type == "text/plain" and plain is None:
            plain = part
        elif content_type == "text/html" and html is None:
            html = part
    if plain is not None:
        return _decode_part(plain), "plain", tuple(attachments)
    if html is not None:
        return html_to_text(_decode_part(html)), "html", tuple(attachments)
    return "", "none", tuple(attachments)


def _decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(payload or "").encode("utf-8", "replace")
    payload = payload[: MAX_BODY_CHARS * 4]
    charset = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        charset = "utf-8"  # unknown charset: decode as UTF-8, replacing what does not fit
    try:
        text = payload.decode(charset, "replace")
    except Exception:  # noqa: BLE001 - a codec that fails even with errors="replace"
        text = payload.decode("utf-8", "replace")
    return text[:MAX_BODY_CHARS]


class _TextExtractor(HTMLParser):
    """Text content of an HTML body: no scripts or styles, line breaks at block elements."""

    _BLOCK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                        "blockquote", "pre", "table", "ul", "ol", "hr"})
    _SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail body, without rendering it."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # noqa: BLE001 - malformed HTML: keep what was extracted so far
        pass
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    text, blank = [], False
    for line in lines:
        if line or not blank:
            text.append(line)
        blank = not line
    return "\n".join(text).strip()


def strip_quotes(body: str) -> str:
    """The sender's own words: quoted replies, signatures and disclaimers removed."""
    if not body.strip():
        return ""
    from mailparser_reply import EmailReplyParser  # imported lazily: only mail needs it

    try:
        replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=body).replies
    except Exception:  # noqa: BLE001 - the library must never lose a question
        return body
    stripped = replies[0].body if replies else ""
    return stripped if stripped.strip() else body


def to_incoming(mail: ParsedMail, remainder: str = "", extra_meta: dict[str, Any] | None = None
                ) -> Incoming:
    """The question a mail becomes: stripped body as text (or the subject's remainder)."""
    body = clean_text(mail.body, MAX_BODY_CHARS)
    text = clean_text(strip_quotes(body), MAX_TEXT) or clean_text(remainder) or mail.subject
    address = mail.from_address or "(unknown sender)"
    # The address itself stays in `id`/`email` for the moderators; the name is what the host,
    # the overlay and the notes show, so it must not be (or contain) an address.
    name = public_name(mail.from_name, mail.from_address)
    meta: dict[str, Any] = {
        "subject": mail.subject,
        "message_id": mail.message_id or None,
        "raw_body": clean_text(body, MAX_RAW_BODY),
        "body_format": mail.body_format,
    }
    if mail.reply_to and mail.reply_to != mail.from_address:
        meta["reply_to"] = mail.reply_to
    if mail.attachments:
        meta["attachments"] = list(mail.attachments)
    if mail.fallback:
        meta["parsed_with"] = "compat32"
    meta.update(extra_meta or {})
    return Incoming(
        source=Source.EMAIL, external_id=mail.dedupe_key,
        author=Author(name=name, id=address,
                      email=mail.from_address or None),
        text=text, sent_at=mail.date, meta=meta,
    )


@dataclass(frozen=True)
class MailDecision:
    incoming: Incoming | None  # None: skipped
    reason: str


def evaluate(raw: bytes, rules: SubjectRules, extra_meta: dict[str, Any] | None = None
             ) -> MailDecision:
    """Parse `raw` and apply the rules: a question to submit, or why the mail was skipped."""
    mail = parse_mail(raw)
    if mail.auto_reason:
        return MailDecision(None, f"skipped: {mail.auto_reason}")
    verdict = rules.check(mail.subject)
    if not verdict.accepted:
        return MailDecision(None, f"skipped: {verdict.reason}")
    return MailDecision(to_incoming(mail, verdict.remainder, extra_meta), verdict.reason)
