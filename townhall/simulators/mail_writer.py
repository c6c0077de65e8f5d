"""Realistic mail for the demo, the tests and the benchmark: built with the stdlib, delivered
into a Maildir folder (tmp/ then an atomic rename into new/, as a real MDA does) or handed to an
IMAP APPEND by the caller.

Importable without any test dependency. `sample_mail(i)` cycles through the kinds of mail a
question inbox really gets: questions sent in advance, questions in HTML only, replies in a
thread, "Conversation with Maggie" requests that must be left alone, and auto-replies.
"""

from __future__ import annotations

import os
import random
import socket
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path

QUESTIONS = [
    "How will the foundation measure the success of the new strategy?",
    "What is being done about harassment on the smaller wikis?",
    "Can you explain how the budget for community grants is decided?",
    "Will the board publish the minutes of the last meeting?",
    "How do you plan to support editors in the Global South?",
    "Why was the universal code of conduct enforcement delayed?",
    "What are the priorities for the mobile apps next year?",
    "Is there a plan to make the movement charter easier to read?",
]
NAMES = ["Anna Schmidt", "Kwame Mensah", "Lucía Pérez", "Jan Nowak", "Mei Chen", "Olu Ade",
         "Sofia Rossi", "Pekka Virtanen"]


def build_mail(subject: str, body: str, *, from_name: str = "Anna Schmidt",
               from_address: str = "anna@example.org", to: str = "answers@example.org",
               html: bool = False, message_id: str | None = None,
               date: datetime | None = None, headers: dict[str, str] | None = None) -> bytes:
    """One well-formed mail as bytes (CRLF line ends)."""
    msg = EmailMessage()
    msg["From"] = f"{from_name} <{from_address}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(timezone.utc))
    msg["Message-ID"] = message_id or make_msgid(domain="example.org")
    for name, value in (headers or {}).items():
        msg[name] = value
    if html:
        paragraphs = "".join(f"<p>{line}</p>" for line in body.split("\n") if line)
        msg.set_content(f"<html><body>{paragraphs}</body></html>", subtype="html")
    else:
        msg.set_content(body)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def sample_mail(i: int, *, phrase: str = "Question for Maggie",
                rng: random.Random | None = None) -> tuple[bytes, bool]:
    """The i-th mail of a realistic stream and whether it should become a question."""
    rng = rng or random.Random(i)
    name = NAMES[i % len(NAMES)]
    address = name.split()[0].lower() + f".{i}@example.org"
    question = QUESTIONS[i % len(QUESTIONS)]
    kind = i % 10
    if kind == 7:
        return build_mail("Conversation with Maggie: can I get a slot?", "Hello, ...",
                          from_name=name, from_address=address), False
    if kind == 8:
        return build_mail(f"Automatic reply: {phrase}", "I am out of the office.",
                          from_name=name, from_address=address,
                          headers={"Auto-Submitted": "auto-replied"}), False
    if kind == 9:
        return build_mail(f"Re: {phrase}", f"I agree.\n\nOn Monday someone wrote:\n> {question}",
                          from_name=name, from_address=address), False
    body = f"Hello,\n\n{question}\n\nThanks,\n{name.split()[0]}\n\n-- \n{name}\nVolunteer"
    if kind == 3:
        body += f"\n\nOn Mon, 7 Nov 2022 at 10:00, Organisers <org@example.org> wrote:\n> {phrase}"
    return build_mail(f"{phrase} #{i}" if rng.random() < 0.5 else phrase, body,
                      from_name=name, from_address=address, html=(kind == 5)), True


class MaildirWriter:
    """Delivers mail into a Maildir folder, creating tmp/, new/ and cur/ when missing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        self._count = 0

    def deliver(self, raw: bytes) -> Path:
        self._count += 1
        name = f"{time.time_ns()}.P{os.getpid()}Q{self._count}.{socket.gethostname()}"
        tmp = self.path / "tmp" / name
        tmp.write_bytes(raw)
        final = self.path / "new" / name
        os.replace(tmp, final)
        return final
