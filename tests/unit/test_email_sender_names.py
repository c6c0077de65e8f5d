"""The display name of an email sender never is or contains an address; the address stays in
the author's id and email, where only moderators see it. Real RFC 5322 bytes, parsed."""

from __future__ import annotations

import pytest

from aggregator.collectors.email_parse import evaluate
from aggregator.privacy import EMAIL_PARTICIPANT, find_addresses
from tests.support.email_helpers import RULES


def mail(from_header: bytes) -> bytes:
    return (b"From: " + from_header + b"\r\nTo: answers@example.org\r\n"
            b"Subject: Question for Maggie\r\nMessage-ID: <m1@example.org>\r\n"
            b"Date: Tue, 08 Nov 2022 09:12:00 +0000\r\n\r\nWhat about the budget?\r\n")


@pytest.mark.parametrize(("from_header", "address", "name"), [
    (b"jane.secret@example.org", "jane.secret@example.org", "jane.s."),
    (b"<jane.secret@example.org>", "jane.secret@example.org", "jane.s."),
    (b'"jane@example.org" <jane@example.org>', "jane@example.org", "jane"),
    (b"jane@example.org <jane@example.org>", "jane@example.org", "jane"),
    (b'"Jane Doe (jane.doe@example.org)" <jane.doe@example.org>', "jane.doe@example.org",
     "Jane Doe"),
    (b'"Jane Doe" <jane.doe@example.org>', "jane.doe@example.org", "Jane Doe"),
    (b"=?utf-8?q?jane=40example=2Eorg?= <jane@example.org>", "jane@example.org", "jane"),
    (b'"=?utf-8?b?amFuZe+8oGV4YW1wbGUub3Jn?=" <jane@example.org>', "jane@example.org", "jane"),
    (b"12345@example.org", "12345@example.org", EMAIL_PARTICIPANT),
])
def test_sender_name_has_no_address_but_the_author_keeps_it(
        from_header: bytes, address: str, name: str) -> None:
    incoming = evaluate(mail(from_header), RULES).incoming
    assert incoming is not None
    assert incoming.author.name == name
    assert not find_addresses(incoming.author.name)
    assert "example.org" not in incoming.author.name
    # Moderators still see who wrote: the address is the identity and the contact.
    assert incoming.author.id == address
    assert incoming.author.email == address


def test_a_mail_without_any_sender_is_an_email_participant() -> None:
    incoming = evaluate(mail(b"undisclosed-recipients:;"), RULES).incoming
    assert incoming is not None
    assert incoming.author.name == EMAIL_PARTICIPANT
