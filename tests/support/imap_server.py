"""A real IMAP server (pymap, maildir backend) on a free loopback port, for tests, the
benchmark and a local demo.

The maildir backend (not the in-memory one) keeps the mailbox across a kill and restart, which
the reconnect tests need, and deleting its `dovecot-uidlist` renumbers the mailbox with a new
UIDVALIDITY. pymap is a test dependency: it is only needed when `start()` runs.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import imapclient


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PymapServer:
    """`pymap maildir` for one user; `start()`, `kill()`, `start()` again keeps the mail."""

    def __init__(self, base_dir: str | Path, *, user: str = "maggie",
                 password: str = "secret", port: int | None = None,
                 cert: str | None = None, key: str | None = None) -> None:
        self.base = Path(base_dir)
        self.user, self.password = user, password
        self.port = port or free_port()
        self.cert, self.key = cert, key
        self.process: subprocess.Popen[bytes] | None = None
        self.base.mkdir(parents=True, exist_ok=True)
        self.add_user(user, password)

    @property
    def maildir(self) -> Path:
        return self.base / self.user

    def add_user(self, user: str, password: str) -> None:
        """A new mailbox; pymap reads its user files at every login, so this works while it runs."""
        from pysasl.hashing import BuiltinHash  # pymap's own dependency

        hashed = BuiltinHash(rounds=1000).hash(password)  # few rounds: fast test logins
        with open(self.base / "pymap-etc-passwd", "a") as passwd:
            passwd.write(f"{user}:x::::{user}\r\n")
        with open(self.base / "pymap-etc-shadow", "a") as shadow:
            shadow.write(f"{user}:{hashed}\r\n")

    def start(self, timeout: float = 15.0) -> PymapServer:
        pymap = shutil.which("pymap") or str(Path(sys.executable).parent / "pymap")
        args = [pymap, "--host", "127.0.0.1", "--port", str(self.port)]
        args += ["--cert", self.cert, "--key", self.key] if self.cert and self.key else ["--no-tls"]
        self.process = subprocess.Popen([*args, "maildir", str(self.base)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pymap exited with status {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.settimeout(2)
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pymap did not start on port {self.port} within {timeout}s")

    def kill(self) -> None:
        """SIGKILL: every connection drops at once, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def reset_uidvalidity(self) -> None:
        """Renumber every mailbox (new UIDVALIDITY) as a server migration does; only when stopped."""
        for uidlist in self.base.rglob("dovecot-uidlist"):
            uidlist.unlink()

    def client(self, user: str | None = None, password: str | None = None
               ) -> imapclient.IMAPClient:
        client = imapclient.IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user or self.user, password or self.password)
        return client

    def append(self, *messages: bytes, mailbox: str = "INBOX", user: str | None = None,
               password: str | None = None) -> None:
        """Put mail in with IMAP APPEND, as a mail server's delivery would."""
        client = self.client(user, password)
        try:
            for raw in messages:
                client.append(mailbox, raw)
        finally:
            client.logout()
