"""Human wording for sources, dismissal reasons and how to reach an asker, shared by the
notes pages and the follow-up list."""

from __future__ import annotations

from ..model import Asker

#: in the order the notes page lists them
SOURCE_LABELS = {
    "youtube": "YouTube chat",
    "zoom": "Zoom chat",
    "zoom_qa": "Zoom Q&A",
    "email": "Email",
    "manual": "Added by moderators",
}

REASON_LABELS = {
    "off_topic": "Off topic",
    "duplicate": "Duplicate",
    "disrespectful": "Disrespectful",
    "case_specific": "About a specific case",
    "spam": "Spam",
    "not_a_question": "Not a question",
    "banned": "Author banned",
    "withdrawn": "Withdrawn by the author",
}
#: a free-text reason is a moderator's own words, possibly naming people: counted, not shown
OTHER_REASON = "Other reason"


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source)


def reason_label(reason: str | None) -> str:
    return REASON_LABELS.get(reason or "", OTHER_REASON)


def how_to_reach(asker: Asker) -> str:
    """Where to send a written answer: the address for email, else the channel and identity."""
    if asker.source == "email":
        return f"email {asker.email or asker.id}"
    if asker.email:
        return f"email {asker.email} (asked in {source_label(asker.source)})"
    # YouTube and Zoom chat offer no private channel back: the published notes page answers them
    if asker.source == "youtube":
        return f"YouTube channel {asker.id} (no email known: the published notes answer them)"
    if asker.source == "manual":
        return "added by a moderator (no contact known)"
    return (f"{source_label(asker.source)} as {asker.name!r} "
            "(no email known: the published notes answer them)")
