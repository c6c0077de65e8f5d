"""`townhall followup send` against a real SMTP server (aiosmtpd) started by the tests."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from aggregator.model import Author, Incoming
from aggregator.store import Store
from tests.support.after_call import (
    Mailbox, build_store, email_in, free_port, self_signed, write_config)
from townhall.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _auth(server, session, envelope, mechanism, data) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"answers",
                                                                               b"s3cret")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@contextmanager
def _smtp(mailbox: Mailbox, **kwargs: Any) -> Iterator[int]:
    """An aiosmtpd server on a free loopback port delivering to `mailbox`, for the block; its
    port. Without `kwargs`: login required (answers/s3cret) over plain SMTP."""
    kwargs = kwargs or {"authenticator": _auth, "auth_require_tls": False}
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _smtp_config(tmp: Path, port: int, security: str = "plain", extra: str = "") -> Path:
    return write_config(tmp, f"""
[smtp]
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "answers"
password_env = "TEST_SMTP_PASSWORD"
from = "Answers <answers@example.org>"
{extra}
""")


def _meeting(tmp: Path, port: int, security: str = "plain", extra: str = "") -> Path:
    config = _smtp_config(tmp, port, security, extra)
    youtube = Incoming(source="youtube", external_id="yt1",
                       author=Author(name="Yan", id="UC1"), text="And for YouTube viewers?")
    build_store(tmp / "meeting.db", [
        ("submit", email_in("m1@example.org", "ann@example.org", "Ann", "When is the fix?")),
        ("submit", email_in("m2@example.org", "bob@example.org", "Bob", "Grants?")),
        ("submit", email_in("m3@example.org", "cy@example.org", "Cy", "Same as Bob: grants?")),
        ("submit", youtube),
        ("cmd", ("merge", 3, {"into": 2})), ("cmd", ("merge", 4, {"into": 2})),
        ("cmd", ("follow_up", 1, {})), ("cmd", ("follow_up", 2, {})),
        ("cmd", ("note", 1, {"note": "The fix ships in March."})),
        ("cmd", ("note", 2, {"note": "Grants open again in May."})),
    ])
    return config


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_drafts_are_printed_and_nothing_is_sent(tmp_path: Path, env, capsys) -> None:
    mailbox = Mailbox()
    with _smtp(mailbox) as port:
        config = _meeting(tmp_path, port)
        assert main(["followup", "send", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "=== #1 to ann@example.org (to send)" in out
    assert "> When is the fix?" in out and "The fix ships in March." in out
    assert "In-Reply-To: <m1@example.org>" in out
    assert "#2 to bob@example.org" in out and "#2 to cy@example.org" in out
    assert "youtube have no private channel; the published notes page answers them" in out
    assert mailbox.messages == []


def test_send_threads_records_and_never_sends_twice(tmp_path: Path, env, capsys) -> None:
    mailbox = Mailbox()
    with _smtp(mailbox) as port:
        config = _meeting(tmp_path, port)
        assert main(["followup", "send", "--config", str(config), "--send"]) == 0
        assert main(["followup", "send", "--config", str(config), "--send"]) == 0
    assert "nothing to send" in capsys.readouterr().out
    mails = {str(m["To"]): m for m in map(_parsed, mailbox.messages)}
    assert sorted(mails) == ["ann@example.org", "bob@example.org", "cy@example.org"]
    assert len(mailbox.messages) == 3
    ann = mails["ann@example.org"]
    assert ann["In-Reply-To"] == "<m1@example.org>" and ann["References"] == "<m1@example.org>"
    assert ann["Subject"] == "Re: Question for Maggie"
    assert "The fix ships in March." in ann.get_content()
    # Cy asked in the question merged into #2: the reply goes to Cy's own mail
    assert mails["cy@example.org"]["In-Reply-To"] == "<m3@example.org>"
    with Store(tmp_path / "meeting.db", exclusive=False) as store:
        actions = [(h.action, h.detail.get("to")) for h in store.history(1)]
    assert ("mail_sending", "email:ann@example.org") in actions
    assert actions[-1] == ("mail_sent", "email:ann@example.org")


def test_edited_answer_is_sent_again(tmp_path: Path, env, capsys) -> None:
    mailbox = Mailbox()
    with _smtp(mailbox) as port:
        config = _meeting(tmp_path, port)
        assert main(["followup", "send", "--config", str(config), "--send"]) == 0
        build_store(tmp_path / "meeting.db",
                    [("cmd", ("note", 1, {"note": "Correction: the fix ships in April."}))])
        assert main(["followup", "send", "--config", str(config), "--send"]) == 0
    last = _parsed(mailbox.messages[-1])
    assert len(mailbox.messages) == 4 and str(last["To"]) == "ann@example.org"
    assert "April" in last.get_content()


def test_kill_while_sending_then_rerun_sends_nothing_twice(tmp_path: Path, env) -> None:
    mailbox = Mailbox(hold_at=2)  # the server keeps mail 2, then the sender is killed
    command = [sys.executable, "-m", "townhall", "followup", "send", "--config",
               str(tmp_path / "townhall.toml"), "--send"]
    with _smtp(mailbox) as port:
        try:
            _meeting(tmp_path, port)
            child = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert mailbox.holding.wait(120), "the sender never reached the second mail"
            child.send_signal(signal.SIGKILL)
            child.wait()
            mailbox.release.set()
            rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        finally:
            mailbox.release.set()  # before the server stops: its handler may be holding a mail
    recipients = [str(_parsed(m)["To"]) for m in mailbox.messages]
    assert sorted(recipients) == ["ann@example.org", "bob@example.org", "cy@example.org"]
    assert rerun.returncode == 1  # one mail stays unconfirmed until someone decides
    assert "#2 to bob@example.org: UNCONFIRMED" in rerun.stdout
    assert "--resend 2" in rerun.stdout


def test_refused_login_is_reported_clearly(tmp_path: Path, monkeypatch, capsys) -> None:
    mailbox = Mailbox()
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    with _smtp(mailbox) as port:
        config = _meeting(tmp_path, port)
        assert main(["followup", "send", "--config", str(config), "--send"]) == 1
    err = capsys.readouterr().err.strip()
    assert "refused the login of 'answers'" in err and len(err.splitlines()) == 1
    assert mailbox.messages == []
    with Store(tmp_path / "meeting.db", exclusive=False) as store:
        assert not [h for h in store.history(1) if h.action.startswith("mail_")]


def test_starttls_with_a_certificate_the_test_trusts(tmp_path: Path, env, capsys) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    with _smtp(mailbox, authenticator=_auth, tls_context=context, require_starttls=True
               ) as port:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        untrusted = _meeting(tmp_path / "a", port, "starttls")
        assert main(["followup", "send", "--config", str(untrusted), "--send"]) == 1
        assert "is not trusted" in capsys.readouterr().err
        trusted = _meeting(tmp_path / "b", port, "starttls", f'ca_file = "{cert}"')
        assert main(["followup", "send", "--config", str(trusted), "--send"]) == 0
    assert len(mailbox.messages) == 3


def test_a_server_holding_the_store_is_named(tmp_path: Path, env, capsys) -> None:
    config = _meeting(tmp_path, free_port())
    owner = Store(tmp_path / "meeting.db").open()
    try:
        assert main(["followup", "send", "--config", str(config), "--send"]) == 1
    finally:
        owner.close()
    assert "cannot send while a server owns the store" in capsys.readouterr().err


def test_a_mail_quotes_the_askers_own_question_not_a_private_one_it_was_merged_into(
        tmp_path: Path, env, capsys) -> None:
    config = _smtp_config(tmp_path, 2525)  # drafts only: nothing listens there
    private = Incoming(source="zoom", external_id="z1", author=Author(name="Grace", id="g"),
                       text="Maggie, privately: my account was blocked", flags=("private",))
    build_store(tmp_path / "meeting.db", [
        ("submit", private),
        ("submit", email_in("m1@example.org", "ann@example.org", "Ann", "Why are accounts "
                            "blocked?")),
        ("cmd", ("merge", 2, {"into": 1})), ("cmd", ("follow_up", 1, {})),
        ("cmd", ("note", 1, {"note": "We review blocks within a week."})),
    ])
    assert main(["followup", "send", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "> Why are accounts blocked?" in out and "We review blocks within a week." in out
    assert "privately" not in out


def test_the_answer_goes_to_reply_to_when_the_mail_named_one(tmp_path: Path, env,
                                                             capsys) -> None:
    config = _smtp_config(tmp_path, 2525)  # drafts only: nothing listens there
    via_list = Incoming(source="email", external_id="m9@example.org",
                        author=Author(name="Dee via Members", id="members@lists.example.org",
                                      email="members@lists.example.org"),
                        text="Is the board election open?",
                        meta={"message_id": "m9@example.org", "subject": "Question for Maggie",
                              "reply_to": "dee@example.net"})
    build_store(tmp_path / "meeting.db", [
        ("submit", via_list), ("cmd", ("follow_up", 1, {})),
        ("cmd", ("note", 1, {"note": "Yes, until 1 December."})),
    ])
    assert main(["followup", "send", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "#1 to dee@example.net" in out and "to members@lists.example.org" not in out
