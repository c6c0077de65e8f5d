"""The `[email] since` rule: the date written in the Date header, as IMAP's SENTSINCE."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from aggregator.collectors.mail_since import sent_before, sent_date

SINCE = date(2022, 11, 3)


def mail(date_header: str | None) -> bytes:
    head = f"Date: {date_header}\r\n" if date_header is not None else ""
    return f"From: a@example.org\r\n{head}Subject: Question\r\n\r\nbody\r\n".encode()


def test_the_date_as_written_there_counts_disregarding_time_zone() -> None:
    # 23:30 at -08:00 is already the 3rd in UTC; RFC 3501 says: the date written there
    assert sent_date(mail("Wed, 2 Nov 2022 23:30:00 -0800")) == date(2022, 11, 2)
    assert sent_before(mail("Wed, 2 Nov 2022 23:30:00 -0800"), SINCE)
    assert not sent_before(mail("Thu, 3 Nov 2022 00:10:00 +0900"), SINCE)
    assert not sent_before(mail("Wed, 2 Nov 2022 10:00:00 +0000"), None)


@pytest.mark.parametrize("header", [None, "", "yesterday", "Thu, 99 Nov 2022 10:00:00 +0000",
                                    "=?utf-8?q?=0A?=", "\x1b[31m", "Thu, 3 Nov 99999 1:0:0"])
def test_without_a_readable_date_the_arrival_decides(header: str | None) -> None:
    raw = mail(header)
    assert sent_date(raw) is None
    assert sent_before(raw, SINCE, datetime(2022, 11, 1, tzinfo=timezone.utc))
    assert not sent_before(raw, SINCE, datetime(2022, 11, 3, tzinfo=timezone.utc))
    assert not sent_before(raw, SINCE)  # unknown either way: kept


def test_hostile_bytes_never_raise() -> None:
    for raw in (b"", b"\xff\xfe\x00", b"Date: " + b"(" * 50_000 + b"\r\n\r\n", b"\r\n" * 10):
        assert sent_before(raw, SINCE) is False
