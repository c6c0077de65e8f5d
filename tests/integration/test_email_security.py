"""Connection security and credentials: STARTTLS and implicit TLS against pymap with a
self-signed certificate (trusted only through ca_file), plain text refused for remote hosts,
secrets only from the environment or a token command."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from aggregator.collectors.base import CollectorStopped
from aggregator.collectors.imap_connect import (ImapSettings, check_security, connect,
                                                is_loopback, resolve_login, token_from_command)
from aggregator.queue import QuestionQueue
from tests.support.imap_server import PymapServer
from townhall.simulators.mail_writer import build_mail
from tests.support.email_helpers import running, settings_for, wait_for, state


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("cert")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return str(d / "cert.pem"), str(d / "key.pem")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, cert: tuple[str, str]
               ) -> Iterator[PymapServer]:
    srv = PymapServer(tmp_path_factory.mktemp("pymap-tls"), cert=cert[0], key=cert[1]).start()
    yield srv
    srv.stop()


@contextlib.asynccontextmanager
async def tls_terminator(cert: tuple[str, str], backend_port: int) -> AsyncIterator[int]:
    """Implicit TLS in front of pymap (which only speaks STARTTLS): a port-993-style server."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def test_starttls_with_the_servers_ca_file(tls_server: PymapServer, cert: tuple[str, str]) -> None:
    settings = settings_for(tls_server, tls_server.user, security="starttls", ca_file=cert[0])
    client = connect(settings, resolve_login(settings, lambda _e: "secret"))
    try:
        assert client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"] > 0
    finally:
        client.logout()


async def test_untrusted_certificate_stops_the_collector_with_a_fix(
        tls_server: PymapServer, queue: QuestionQueue) -> None:
    settings = settings_for(tls_server, tls_server.user, security="starttls")  # no ca_file
    async with running(queue, settings) as health:
        await wait_for(lambda: state(health) == "stopped")
        assert "ca_file" in (health.get("email").reason or "")  # type: ignore[union-attr]


async def test_implicit_tls_collects_mail(tls_server: PymapServer, cert: tuple[str, str],
                                          queue: QuestionQueue) -> None:
    tls_server.append(build_mail("Question for Maggie", "Over TLS?"))
    async with tls_terminator(cert, tls_server.port) as port:
        settings = ImapSettings(host="127.0.0.1", port=port, security="tls",
                                username=tls_server.user, ca_file=cert[0], read_timeout=10)
        async with running(queue, settings):
            await wait_for(lambda: len(queue) == 1)
    assert queue.all()[0].text == "Over TLS?"


@pytest.mark.parametrize(("host", "allowed", "ok"), [
    ("127.0.0.1", False, True), ("localhost", False, True), ("::1", False, True),
    ("imap.example.org", False, False), ("10.0.0.5", False, False),
    ("imap.example.org", True, True),
])
def test_plain_text_only_to_loopback_unless_allowed(host: str, allowed: bool, ok: bool) -> None:
    settings = ImapSettings(host=host, port=143, security="plain", username="u",
                            allow_plain_remote=allowed)
    if ok:
        check_security(settings)
    else:
        with pytest.raises(CollectorStopped, match="allow_plain_remote"):
            check_security(settings)
    assert is_loopback(host) == (host in ("127.0.0.1", "localhost", "::1"))


def test_credentials_come_from_the_named_environment_variables() -> None:
    env = {"PW": "app-password", "TOK": "ya29.token"}
    base = ImapSettings(host="h", port=993, security="tls", username="me@example.org",
                        password_env="PW")
    login = resolve_login(base, env.get)
    assert (login.kind, login.secret) == ("password", "app-password")
    assert "app-password" not in repr(login)
    oauth = ImapSettings(host="h", port=993, security="tls", username="me@example.org",
                         oauth2_token_env="TOK")
    assert resolve_login(oauth, env.get).kind == "xoauth2"
    with pytest.raises(CollectorStopped, match="MISSING"):
        resolve_login(ImapSettings(host="h", port=993, security="tls", username="u",
                                   password_env="MISSING"), env.get)


def test_token_command_output_is_the_token_and_failures_hide_stderr(tmp_path: Path) -> None:
    ok = f"{sys.executable} -c \"print('ya29.fresh-token')\""
    assert token_from_command(ok) == "ya29.fresh-token"
    bad = f"{sys.executable} -c \"import sys; sys.stderr.write('refresh=SECRET'); sys.exit(3)\""
    with pytest.raises(RuntimeError) as info:
        token_from_command(bad)
    assert "exit status 3" in str(info.value) and "SECRET" not in str(info.value)
    settings = ImapSettings(host="h", port=993, security="tls", username="u",
                            oauth2_token_command=ok)
    assert resolve_login(settings, lambda _e: None).secret == "ya29.fresh-token"
