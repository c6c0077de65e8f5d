"""Reading YouTube's untrusted data: video ids from URLs, and live chat pages into Incoming.

Pure functions, no I/O. Every field of a response may be missing, of the wrong type or
hostile; nothing here raises on bad data: an item we cannot use is skipped, and text goes
through `clean_text` / `clean_line` once, here, at ingestion (aggregator/sanitize.py says why).

Mapping of `snippet.type` (the types are listed in docs/platforms.md, YouTube):
- textMessageEvent -> a question;
- superChatEvent, superStickerEvent, memberMilestoneChatEvent with a `userComment` -> a
  question flagged `superchat` (a sticker or milestone without a comment has nothing to ask);
- messageDeletedEvent, messageRetractedEvent -> a `withdraw` of the message they name;
- userBannedEvent -> `flag_author` banned_author for the banned channel;
- chatEndedEvent -> the end of the chat;
- anything else is ignored. Moderation events carry the moderator as author: they never
  become questions. Among the ignored: `giftEvent` (a virtual gift; YouTube sends the same
  message id again as its combo count grows, so it could only ever update, never ask),
  `pollEvent` (the channel's own poll), `membershipGiftingEvent` and
  `giftMembershipReceivedEvent` (memberships bought or received for others).

Type names arrive in camelCase from the REST API and in SCREAMING_CASE where the streaming
form passes the gRPC enum through (`TEXT_MESSAGE_EVENT`); both read the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..model import Author, Incoming, Source, parse_iso, to_iso
from ..sanitize import clean_line, clean_text

_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_WATCH_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
_PATH_PREFIXES = ("live", "embed", "shorts", "v")

#: the details object that carries a userComment, per message type
_COMMENTED = {
    "superChatEvent": "superChatDetails",
    "superStickerEvent": "superStickerDetails",
    "memberMilestoneChatEvent": "memberMilestoneChatDetails",
}
#: the longest polling interval we accept from the server (anything above is bad data)
MAX_POLLING_MILLIS = 10 * 60 * 1000


def parse_video_id(value: str) -> str | None:
    """The 11-character video id in a watch, youtu.be, /live/ (or /embed/, /shorts/) URL, or
    a bare id; None when `value` is none of these."""
    value = value.strip()
    if _VIDEO_ID.fullmatch(value):
        return value
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    candidate: str | None = None
    if host in ("youtu.be", "www.youtu.be"):
        candidate = segments[0] if segments else None
    elif host in _WATCH_HOSTS:
        if segments[:1] == ["watch"]:
            candidate = (parse_qs(parts.query).get("v") or [None])[0]
        elif len(segments) >= 2 and segments[0] in _PATH_PREFIXES:
            candidate = segments[1]
    return candidate if candidate and _VIDEO_ID.fullmatch(candidate) else None


@dataclass
class Page:
    """One `liveChatMessages.list` response, read."""

    incomings: list[Incoming] = field(default_factory=list)
    #: moderation to apply after the page is stored, in order:
    #: {"op": "withdraw", "external_id": ...} or {"op": "flag_author", "identity": ...}
    moderation: list[dict[str, str]] = field(default_factory=list)
    next_page_token: str | None = None
    polling_millis: int | None = None
    item_count: int = 0
    chat_ended: bool = False
    offline_at: str | None = None


def parse_page(response: Any, *, history: bool = False) -> Page:
    page = Page()
    if not isinstance(response, dict):
        return page
    page.next_page_token = _opaque(response.get("nextPageToken"), 2_000)
    millis = response.get("pollingIntervalMillis")
    if isinstance(millis, (int, float, str)) and not isinstance(millis, bool):
        try:
            page.polling_millis = min(max(int(float(millis)), 0), MAX_POLLING_MILLIS)
        except (ValueError, OverflowError):
            page.polling_millis = None
    page.offline_at = _text(response.get("offlineAt"), 64) or None
    items = response.get("items")
    if not isinstance(items, list):
        return page
    page.item_count = len(items)
    flags = ("history",) if history else ()
    for item in items:
        _read_item(item, page, flags)
    return page


def type_name(value: Any) -> str | None:
    """`snippet.type` in camelCase: `TEXT_MESSAGE_EVENT` and `textMessageEvent` are one type."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    if "_" in value or (value.isupper() and value.isalpha()):
        first, *rest = value.lower().split("_")
        return first + "".join(word.capitalize() for word in rest)
    return value


def _read_item(item: Any, page: Page, flags: tuple[str, ...]) -> None:
    if not isinstance(item, dict):
        return
    snippet = _dict(item.get("snippet"))
    kind = type_name(snippet.get("type"))
    message_id = _opaque(item.get("id"), 300)
    if kind == "chatEndedEvent":
        page.chat_ended = True
        return
    if kind in ("messageDeletedEvent", "messageRetractedEvent"):
        details = _dict(snippet.get("messageDeletedDetails") or snippet.get(
            "messageRetractedDetails"))
        target = _opaque(details.get("deletedMessageId") or details.get("retractedMessageId"),
                         300)
        if target:
            page.moderation.append({"op": "withdraw", "external_id": target})
        return
    if kind == "userBannedEvent":
        banned = _dict(_dict(snippet.get("userBannedDetails")).get("bannedUserDetails"))
        channel = clean_line(banned.get("channelId"), 200)
        if channel:
            page.moderation.append({"op": "flag_author", "identity": f"youtube:{channel}"})
        return
    if not message_id:
        return  # without an id we could not deduplicate it: drop rather than risk twice
    if kind == "textMessageEvent":
        text = _dict(snippet.get("textMessageDetails")).get("messageText") or snippet.get(
            "displayMessage")
        extra_flags: tuple[str, ...] = ()
        meta: dict[str, Any] = {}
    elif kind in _COMMENTED:
        details = _dict(snippet.get(_COMMENTED[kind]))
        text = details.get("userComment")
        extra_flags = ("superchat",)
        meta = {"youtube_type": kind}
        amount = _text(details.get("amountDisplayString"), 40)
        if amount:
            meta["amount"] = amount
        level = _text(details.get("memberLevelName"), 100)
        if level:
            meta["member_level"] = level
    else:
        return
    text = clean_text(text) if isinstance(text, str) else ""
    if not text:
        return
    page.incomings.append(Incoming(
        source=Source.YOUTUBE, external_id=message_id, author=_author(item, snippet), text=text,
        sent_at=_timestamp(snippet.get("publishedAt")), flags=(*flags, *extra_flags),
        meta=meta | _author_meta(item)))


def _author(item: dict[str, Any], snippet: dict[str, Any]) -> Author:
    details = _dict(item.get("authorDetails"))
    channel = clean_line(details.get("channelId") or snippet.get("authorChannelId"), 200)
    url = clean_line(details.get("channelUrl"), 500)
    return Author(name=clean_line(details.get("displayName")) or "(no name)",
                  id=channel or "(unknown)",
                  url=url if url.startswith(("https://", "http://")) else None)


def _author_meta(item: dict[str, Any]) -> dict[str, Any]:
    details = _dict(item.get("authorDetails"))
    roles = [role for key, role in (("isChatOwner", "owner"), ("isChatModerator", "moderator"),
                                    ("isChatSponsor", "member"), ("isVerified", "verified"))
             if details.get(key) is True]
    return {"author_roles": roles} if roles else {}


def _timestamp(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return to_iso(parse_iso(value))
    except (ValueError, OverflowError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _opaque(value: Any, limit: int) -> str | None:
    """An id or token: used as-is (never "cleaned" into another id), or refused."""
    if isinstance(value, str) and 0 < len(value) <= limit and value.isprintable():
        return value
    return None


def _text(value: Any, limit: int) -> str:
    return clean_line(value, limit) if isinstance(value, str) else ""


@dataclass(frozen=True)
class VideoChat:
    """What `videos.list(part=liveStreamingDetails)` says about a video's live chat."""

    found: bool
    chat_id: str | None = None
    ended: bool = False
    started_at: str | None = None  # actualStartTime: the recording's start (notes' time links)


def read_video_chat(response: Any) -> VideoChat:
    items = response.get("items") if isinstance(response, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return VideoChat(found=False)
    details = _dict(items[0].get("liveStreamingDetails"))
    chat_id = _opaque(details.get("activeLiveChatId"), 300)
    return VideoChat(found=True, chat_id=chat_id,
                     ended=chat_id is None and bool(details.get("actualEndTime")),
                     started_at=_timestamp(details.get("actualStartTime")))


def read_broadcast_chat(response: Any) -> str | None:
    """The chat of the first active broadcast in a `liveBroadcasts.list` response."""
    items = response.get("items") if isinstance(response, dict) else None
    for item in items if isinstance(items, list) else []:
        chat_id = _opaque(_dict(_dict(item).get("snippet")).get("liveChatId"), 300)
        if chat_id:
            return chat_id
    return None
