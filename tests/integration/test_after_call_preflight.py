"""`townhall preflight` for the after-call services, against the real servers the publish and
mail tests start: MediaWiki (Debian's package on `php -S`) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from aggregator.config import load_config
from aggregator.preflight import planned, run_checks
from tests.support.after_call import Mailbox, free_port, write_config


def _auth(server, session, envelope, mechanism, data) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"answers",
                                                                               b"s3cret")
    return AuthResult(success=ok, handled=False)


async def test_the_wiki_login_publish_makes(wiki, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write_config(tmp_path, f"""
[wiki]
api_url = "{wiki.api_url}"
page = "Notes/preflight"
username = "{wiki.username}"
password_env = "TEST_WIKI_PASSWORD"
"""))
    assert [name for name, _ in planned(config)] == ["server", "wiki"]
    monkeypatch.setenv("TEST_WIKI_PASSWORD", wiki.password)
    [_, result] = await run_checks(config, 20)
    assert result.ok and wiki.username in result.message, result
    monkeypatch.setenv("TEST_WIKI_PASSWORD", "0" * 32)
    [_, result] = await run_checks(config, 20)
    assert not result.ok and "0" * 32 not in result.message + result.fix
    assert "$TEST_WIKI_PASSWORD" in result.fix


async def test_the_smtp_login_followup_send_makes(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=_auth,
                            auth_require_tls=False)
    controller.start()
    try:
        config = load_config(write_config(tmp_path, f"""
[smtp]
host = "127.0.0.1"
port = {port}
security = "plain"
username = "answers"
password_env = "TEST_SMTP_PASSWORD"
from = "Answers <answers@example.org>"
"""))
        assert [name for name, _ in planned(config)] == ["server", "smtp"]
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
        [_, result] = await run_checks(config, 10)
        assert result.ok and "logged in" in result.message and "nothing sent" in result.message
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
        [_, result] = await run_checks(config, 10)
        assert not result.ok and "refused the login" in result.message
        assert "wrong" not in result.message
    finally:
        controller.stop()
    assert mailbox.messages == []
