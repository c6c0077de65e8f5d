"""After-the-call fixtures: a store holding a small finished meeting, a real MediaWiki
(Debian's `mediawiki` package on `php -S`) and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from aggregator.commands import Command
from aggregator.model import Author, Incoming
from aggregator.queue import QuestionQueue
from aggregator.store import Store

MEDIAWIKI = Path("/usr/share/mediawiki")
HOSTILE = "Will you fix [[Main Page]] {{delete|now}} <script>alert(1)</script> soon?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def email_in(ext: str, address: str, name: str, text: str) -> Incoming:
    return Incoming(source="email", external_id=ext,
                    author=Author(name=name, id=address, email=address), text=text,
                    meta={"message_id": ext, "subject": "Question for Maggie"})


async def _build(path: Path, script: list[tuple[str, Any]]) -> None:
    store = Store(path).open()
    queue = QuestionQueue(store)
    await queue.start()
    try:
        for kind, value in script:
            if kind == "submit":
                await queue.submit(value)
            else:
                op, qid, args = value
                await queue.apply(Command(op=op, question=qid, args=args), "Simona")
    finally:
        await queue.close()
        store.close()


def build_store(path: Path, script: list[tuple[str, Any]]) -> None:
    """Run `script` ("submit", Incoming) / ("cmd", (op, id, args)) through the real queue."""
    asyncio.run(_build(path, script))


def write_config(tmp: Path, body: str) -> Path:
    config = tmp / "townhall.toml"
    config.write_text(f'[meeting]\ntitle = "Conversation with Maggie"\n'
                      f'starts_at = "2022-11-10T14:00:00Z"\n[store]\npath = "meeting.db"\n'
                      + body)
    return config


# --- MediaWiki ------------------------------------------------------------------------------

@dataclass
class Wiki:
    api_url: str
    username: str
    password: str
    conf: Path
    env: dict[str, str] = field(default_factory=dict)

    def maintenance(self, script: str, *args: str) -> str:
        return subprocess.run(
            ["php", str(MEDIAWIKI / "maintenance" / script), *args], env=self.env,
            check=True, capture_output=True, text=True).stdout


def start_mediawiki(tmp: Path) -> tuple[Wiki, subprocess.Popen[bytes]]:
    if not (MEDIAWIKI / "maintenance" / "install.php").is_file() or not shutil.which("php"):
        pytest.skip("needs Debian's mediawiki and php-sqlite3 packages (.ci/run installs them)")
    port = free_port()
    env = {**os.environ, "MW_CONFIG_FILE": str(tmp / "LocalSettings.php")}
    subprocess.run(
        ["php", str(MEDIAWIKI / "maintenance" / "install.php"), "--dbtype", "sqlite",
         "--dbpath", str(tmp / "db"), "--dbname", "wiki", "--confpath", str(tmp),
         "--server", f"http://127.0.0.1:{port}", "--scriptpath", "", "--lang", "en",
         "--pass", "Admin-password-12345", "--skins", "", "Townhall Test Wiki", "Admin"],
        env=env, check=True, capture_output=True)
    password = "abcdefghijklmnopqrstuvw012345678"  # bot passwords are [0-9a-w]{32}
    wiki = Wiki(f"http://127.0.0.1:{port}/api.php", "Notetaker@townhall", password,
                tmp / "LocalSettings.php", env)
    wiki.maintenance("createAndPromote.php", "Notetaker", "Notetaker-password-1234")
    wiki.maintenance("createAndPromote.php", "Editor", "Editor-password-12345")
    wiki.maintenance("createBotPassword.php", "--appid", "townhall", "--grants",
                     "basic,editpage,createeditmovepage", "Notetaker", password)
    server = subprocess.Popen(["php", "-S", f"127.0.0.1:{port}", "-t", str(MEDIAWIKI)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return wiki, server


# --- SMTP -----------------------------------------------------------------------------------

class Mailbox:
    """An aiosmtpd handler that keeps every accepted mail; `hold_at` makes the n-th DATA wait
    (after keeping the mail) until `release` is set, to kill a sender in the middle."""

    def __init__(self, hold_at: int | None = None) -> None:
        self.messages: list[bytes] = []
        self.hold_at = hold_at
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content or envelope.content)
        if self.hold_at is not None and len(self.messages) == self.hold_at:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 OK"


def self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key
