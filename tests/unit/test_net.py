"""The one loopback rule, shared by the server, check-config, IMAP and the websocket clients."""

from __future__ import annotations

import pytest

from aggregator.collectors import imap_connect
from aggregator.net import is_loopback
from aggregator.server import auth


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("127.255.255.254", True),
    ("::1", True), ("[::1]", True), ("localhost", True), ("LocalHost", True),
    ("localhost.", True), (" 127.0.0.1 ", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.1", False), ("0.0.0.0", False), ("::", False), ("192.168.1.10", False),
    ("example.org", False), ("localhost.example.org", False), ("127.0.0.1.nip.io", False),
    ("", False), (None, False), ("[127.0.0.1", False), ("::ffff:10.0.0.1", False),
])
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_there_is_one_rule() -> None:
    assert auth.is_loopback is is_loopback
    assert imap_connect.is_loopback is is_loopback
