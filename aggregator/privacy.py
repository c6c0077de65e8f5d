"""Who may be named where: the rules that keep addresses and private messages off public screens.

Minimal version: the host and overlay roles (aggregator/roles.py) need these names. A fuller
version (names derived from addresses, confirmation by a moderator) replaces this module.
"""

from __future__ import annotations

import re

from .model import Question

#: what a public surface shows instead of the asker of a private question
HIDDEN_ASKER = "Anonymous"
#: what a sender whose name was only an address is called
EMAIL_PARTICIPANT = "Email participant"
#: the flag a collector sets on a message not sent to everyone (a Zoom direct message)
PRIVATE = "private"
#: the flag a moderator's confirmation sets on a private question
PRIVATE_CONFIRMED = "private_confirmed"

_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")


def public_name(name: str, email: str | None = None) -> str:
    """`name` with every email address removed; a name that was only an address becomes
    "Email participant"."""
    cleaned = " ".join(_ADDRESS.sub(" ", name).replace('""', " ").split()).strip(" \"'")
    if email:
        cleaned = cleaned.replace(email, "").strip()
    if cleaned:
        return cleaned
    return EMAIL_PARTICIPANT if (email or "@" in name) else ""


def is_private(question: Question) -> bool:
    return PRIVATE in question.flags


def confirmed(question: Question) -> bool:
    """May this question reach the host, the overlay or the public notes at all?"""
    return not is_private(question) or PRIVATE_CONFIRMED in question.flags


def public_asker_name(question: Question) -> str:
    """The asker as a public surface names them: hidden for a private question."""
    if is_private(question):
        return HIDDEN_ASKER
    return public_name(question.author.name, question.author.email)
