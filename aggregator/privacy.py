"""What may leave the moderators' screens: display names without email addresses, and the
rules for questions flagged `private`.

Moderators see everything (addresses, private messages). Every other surface (the host view,
the stream overlay, the public notes) shows people only by a display name, and a display name
can itself be an address: a mail sent as `jane@example.org` with no display name, or as
`"jane@example.org" <jane@example.org>`. `public_name()` is the one place that turns any name
into one without an address, so those surfaces never have to think about it.

A `private` question (a Zoom chat message sent only to the host, say) was not meant for the
audience. It reaches a public surface only after a moderator confirmed it (the flag
`private_confirmed`, added when a moderator approves or takes live a private question), and
even then without saying who asked.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Asker, Question

#: Shown instead of the asker of a private question on every public surface.
HIDDEN_ASKER = "Anonymous"
#: Shown when nothing usable is left of an email address once its domain is gone.
EMAIL_PARTICIPANT = "Email participant"
#: Question flags: sent privately at the source; a moderator confirmed it may be shown.
PRIVATE = "private"
PRIVATE_CONFIRMED = "private_confirmed"
#: What an address inside free text (a question's wording, a note) becomes on a public page.
ADDRESS_REMOVED = "[address removed]"

# At signs a reader takes for "@": ASCII, fullwidth, small.
_AT = "@\uff20\ufe6b"
# A run of characters that can be part of one address: everything but whitespace and the
# brackets and separators that usually surround an address in a display name. Quotes and
# colons stay inside, so `"jane"@example.org` and `mailto:jane@example.org` are one run.
_RUN = re.compile(r"[^\s<>()\[\]{},;]+")
# An at sign with something before it inside the run: an address (`@handle` alone is not).
_ADDRESS_IN_RUN = re.compile(f"[^{_AT}][{_AT}]")
_AT_SIGN = re.compile(f"[{_AT}]")
_EMPTY_BRACKETS = re.compile(r"<\s*>|\(\s*\)|\[\s*\]|\{\s*\}")
_EDGE_PUNCTUATION = " \t-\u2013\u2014,;:|/\\\"'"
_NAME_PARTS = re.compile(r"[^\W_]+")  # letters and digits of any script
MAX_DERIVED_PART = 30


def _is_address(run: str) -> bool:
    return bool(_ADDRESS_IN_RUN.search(run))


def _has_at_sign(text: str) -> bool:
    """No at sign, no address: the common case, answered without scanning word by word."""
    return "@" in text or "\uff20" in text or "\ufe6b" in text


def find_addresses(text: str) -> list[str]:
    """Every email address in `text`, as written (including any quotes or `mailto:`)."""
    if not _has_at_sign(text):
        return []
    return [m.group() for m in _RUN.finditer(text) if _is_address(m.group())]


def redact_addresses(text: str) -> str:
    """`text` with every email address replaced by ADDRESS_REMOVED: for free text such as a
    question's wording, where removing the address silently would change the sentence."""
    if not _has_at_sign(text):
        return text
    def replace(match: re.Match[str]) -> str:
        run = match.group()
        if not _is_address(run):
            return run
        address = run.rstrip(".!?")  # the end of the sentence is not part of the address
        return ADDRESS_REMOVED + run[len(address):]

    return _RUN.sub(replace, text)


def derived_name(address: str) -> str:
    """A display name from an email address, without its domain: the first part of the local
    part, then the initial of every further part (`jane.secret@example.org` -> `jane.s.`).

    A subaddress (`+tag`) is dropped. EMAIL_PARTICIPANT when the local part has no letter (an
    employee number, say, identifies a person as well as the address does).
    """
    pieces = _AT_SIGN.split(address)
    local = "@".join(pieces[:-1]) if len(pieces) > 1 else address
    local = re.sub("^mailto:", "", local, flags=re.IGNORECASE).split("+", 1)[0]
    parts = _NAME_PARTS.findall(local)
    if not parts or not any(ch.isalpha() for ch in parts[0]):
        return EMAIL_PARTICIPANT
    first = parts[0][:MAX_DERIVED_PART]
    if len(parts) == 1:
        return first
    return first + "." + "".join(f"{part[0]}." for part in parts[1:])


def public_name(name: str, email: str | None = None) -> str:
    """`name` with every email address removed, for a surface outside the moderation team.

    A name without an address is returned unchanged. Once an address is taken out, what it
    leaves behind (empty brackets, a dangling dash) goes too.
    If nothing readable is left (the name was only an address, or was empty), the name is
    derived from `email`, else from the first address removed from `name`
    (`derived_name()`). The result never contains an address.
    """
    removed = find_addresses(name)
    if not removed and any(ch.isalnum() for ch in name):
        return name  # the usual case: nothing to take out, so nothing changes
    kept = name
    while True:  # removing brackets can join what is left into a new address: `a()@`
        before = kept
        kept = _RUN.sub(lambda m: "" if _is_address(m.group()) else m.group(), kept)
        kept = " ".join(_EMPTY_BRACKETS.sub("", kept).split()).strip(_EDGE_PUNCTUATION)
        if kept == before:
            break
    if any(ch.isalnum() for ch in kept) and not find_addresses(kept):
        return kept
    if email and _AT_SIGN.search(email):
        return derived_name(email)
    return derived_name(removed[0]) if removed else EMAIL_PARTICIPANT


def is_private(q: Question) -> bool:
    """Sent privately at the source (not to everyone in the meeting)."""
    return PRIVATE in q.flags


def confirmed(q: Question) -> bool:
    """May this question be shown outside the moderation team? Yes unless it is private and
    no moderator has confirmed it yet."""
    return not is_private(q) or PRIVATE_CONFIRMED in q.flags


def public_asker_name(q: Question) -> str:
    """The name a public surface shows for who asked `q`."""
    if is_private(q):
        return HIDDEN_ASKER
    # Zoom and email authors may carry their address as `id`; public_name uses it only to
    # derive a name, and only if it is an address.
    return public_name(q.author.name, q.author.email or q.author.id)


def public_asker(asker: Asker) -> str:
    """The name a public surface shows for one of a question's askers (the caller hides the
    askers of a private question altogether): hidden when they asked privately."""
    if asker.private:
        return HIDDEN_ASKER
    return public_name(asker.name, asker.email or asker.id)
