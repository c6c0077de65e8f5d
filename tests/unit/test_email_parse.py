"""Parsing hostile and unusual mail into questions (aggregator/collectors/email_parse.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from aggregator.collectors.email_parse import evaluate, html_to_text, parse_mail
from townhall.simulators.mail_writer import build_mail
from tests.support.email_helpers import RULES

# Headers that make the stdlib's policy.default raise (an unclosed quote, a bracketed
# Message-ID as Exchange writes it, an encoded newline in a name, a parameter without a value)
BROKEN = [
    b'To: "\r\nFrom: a@example.org\r\nSubject: Question for Maggie\r\n\r\nQ1?\r\n',
    b"Message-ID: <[b378@microsoft.com]>\r\nFrom: a@example.org\r\n"
    b"Subject: Question for Maggie\r\n\r\nQ2?\r\n",
    b"From: =?utf-8?q?=0A?= <bad@example.org>\r\nSubject: Question for Maggie\r\n\r\nQ3?\r\n",
    b"From: a@example.org\r\nSubject: Question for Maggie\r\n"
    b"Content-Type: text/plain; name*\r\n\r\nQ4?\r\n",
]


@pytest.mark.parametrize("raw", BROKEN)
def test_broken_headers_still_give_a_question(raw: bytes) -> None:
    decision = evaluate(raw, RULES)
    assert decision.incoming is not None
    assert decision.incoming.text.startswith("Q")
    assert decision.incoming.meta["subject"] == "Question for Maggie"


def test_any_bytes_parse_without_raising() -> None:
    for raw in (b"", b"\x00\xff\xfe", b"Subject: =?x?q?=ZZ?=\r\n\r\n", b"From: <<<>>>\r\n\r\n" * 50):
        parse_mail(raw)


def test_plain_is_preferred_over_html() -> None:
    msg = EmailMessage()
    msg["Subject"] = "Question for Maggie"
    msg["From"] = "a@example.org"
    msg.set_content("the plain words")
    msg.add_alternative("<p>the html words</p>", subtype="html")
    mail = parse_mail(msg.as_bytes())
    assert (mail.body.strip(), mail.body_format) == ("the plain words", "plain")


def test_html_is_turned_into_text_without_scripts_or_styles() -> None:
    html = ("<html><head><style>p{color:red}</style><title>t</title></head><body>"
            "<p>Why &amp; how?</p><script>alert(1)</script><div>Second<br>line</div>"
            "<a href='javascript:x'>link</a></body></html>")
    assert html_to_text(html) == "Why & how?\n\nSecond\nline\nlink"


def test_attachments_are_named_not_read() -> None:
    msg = EmailMessage()
    msg["Subject"] = "Question for Maggie"
    msg["From"] = "a@example.org"
    msg.set_content("See the attached plan. What do you think?")
    msg.add_attachment(b"%PDF-1.4 binary", maintype="application", subtype="pdf",
                       filename="plan.pdf")
    msg.add_attachment("a,b\n", subtype="csv", filename="data.csv")
    decision = evaluate(msg.as_bytes(), RULES)
    assert decision.incoming is not None
    assert decision.incoming.meta["attachments"] == ["plan.pdf", "data.csv"]
    assert "PDF" not in decision.incoming.text and "a,b" not in decision.incoming.text


def test_quoted_replies_and_signatures_are_stripped_raw_body_kept() -> None:
    body = ("Will the board publish the minutes?\n\nThanks,\nAnna\n\n-- \nAnna Schmidt\n"
            "Volunteer\n\nOn Mon, 7 Nov 2022 at 10:00, Organisers <org@example.org> wrote:\n"
            "> Send your questions for Maggie\n")
    decision = evaluate(build_mail("Question for Maggie", body), RULES)
    assert decision.incoming is not None
    assert decision.incoming.text.startswith("Will the board publish the minutes?")
    assert "Organisers" not in decision.incoming.text and "Volunteer" not in decision.incoming.text
    assert "Send your questions" in decision.incoming.meta["raw_body"]


def test_german_quote_header_is_stripped() -> None:
    body = "Wie geht es weiter?\n\nAm 07.11.2022 um 10:00 schrieb Org <org@example.org>:\n> alt\n"
    decision = evaluate(build_mail("Question for Maggie", body), RULES)
    assert decision.incoming is not None and decision.incoming.text == "Wie geht es weiter?"


def test_empty_body_uses_what_follows_the_phrase_in_the_subject() -> None:
    decision = evaluate(build_mail("Question for Maggie: is the strategy final?", ""), RULES)
    assert decision.incoming is not None
    assert decision.incoming.text == "is the strategy final?"
    bare = evaluate(build_mail("Question for Maggie", ""), RULES)
    assert bare.incoming is not None and bare.incoming.text == "Question for Maggie"


def test_fields_from_headers_and_control_characters_removed() -> None:
    raw = build_mail("Question for Maggie \x1b]0;pwned\x07", "Body \x1b[2J here?\u202e",
                     from_name="Evil \x1b[31mName", from_address="Evil@Example.org",
                     message_id="<id-1@example.org>",
                     headers={"Reply-To": "other@example.org"},
                     date=datetime(2022, 11, 10, 15, 0, tzinfo=timezone(timedelta(hours=1))))
    decision = evaluate(raw, RULES)
    incoming = decision.incoming
    assert incoming is not None
    assert incoming.external_id == "id-1@example.org"
    assert incoming.author.id == "evil@example.org" and "\x1b" not in incoming.author.name
    assert "\x1b" not in incoming.text and "\u202e" not in incoming.text
    assert "\x1b" not in incoming.meta["subject"]
    assert incoming.meta["reply_to"] == "other@example.org"
    assert incoming.sent_at == "2022-11-10T14:00:00.000Z"


def test_no_message_id_falls_back_to_a_stable_hash() -> None:
    raw = b"From: a@example.org\r\nSubject: Question for Maggie\r\n\r\nSame?\r\n"
    first, second = evaluate(raw, RULES).incoming, evaluate(raw, RULES).incoming
    assert first is not None and second is not None
    assert first.external_id.startswith("sha256:") and first.external_id == second.external_id


def test_huge_body_is_capped() -> None:
    decision = evaluate(build_mail("Question for Maggie", "Long? " + "x" * 3_000_000), RULES)
    assert decision.incoming is not None
    assert len(decision.incoming.text) <= 5_000
    assert len(decision.incoming.meta["raw_body"]) <= 20_000


def test_unknown_charset_decodes_with_replacement() -> None:
    raw = (b"From: a@example.org\r\nSubject: Question for Maggie\r\n"
           b"Content-Type: text/plain; charset=\"x-made-up\"\r\n\r\nna\xefve caf\xc3\xa9?\r\n")
    decision = evaluate(raw, RULES)
    assert decision.incoming is not None and decision.incoming.text == "na\ufffdve café?"


def test_bounce_is_skipped() -> None:
    msg = EmailMessage()
    msg["Subject"] = "Undelivered Mail: Question for Maggie"
    msg["From"] = "MAILER-DAEMON@example.org"
    msg.set_content("failed")
    msg.replace_header("Content-Type", "multipart/report; report-type=delivery-status")
    decision = evaluate(msg.as_bytes(), RULES)
    assert decision.incoming is None and "bounce" in decision.reason


def _nested_multipart(depth: int) -> bytes:
    """A mail whose body is `depth` multiparts inside each other: deep enough that the stdlib
    parser (which recurses per level) raises RecursionError under either policy."""
    head = (b"From: Deep <deep@example.org>\r\nSubject: Question for Maggie\r\n"
            b"Message-ID: <deep@example.org>\r\n")
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                       for i in range(depth))
    closing = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nhello\r\n" + closing


def test_deeply_nested_mail_is_not_a_poison_message() -> None:
    # One such mail used to raise out of parse_mail, so the collector failed on it forever
    # (and every other mail of its page was never stored).
    decision = evaluate(_nested_multipart(3000), RULES)
    assert decision.incoming is not None
    assert decision.incoming.external_id == "deep@example.org"
    assert decision.incoming.meta["subject"] == "Question for Maggie"
    assert decision.incoming.author.email == "deep@example.org"
