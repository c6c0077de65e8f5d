"""The chat stream's body read incrementally, and the message types of the streaming era."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.collectors.youtube_client import NOT_FOUND, QUOTA, STOP, TRANSIENT, ApiError
from aggregator.collectors.youtube_client import error_from_http, stream_refused
from aggregator.collectors.youtube_parse import parse_page, type_name
from aggregator.collectors.youtube_stream import (
    JsonArrayReader, StreamFormatError, element_error, stream_url,
)

# JSON values as elements (objects mostly, as the stream sends), with text that needs escaping
# and characters that take 2 to 4 bytes in UTF-8, so that chunk boundaries fall inside them
_text = st.text(alphabet=st.sampled_from(list('ab "\\\n/{}[],:é質🙂\u2028')), max_size=12)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), _text,
                    st.floats(allow_nan=False, allow_infinity=False))
_json = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)), max_leaves=12)
_elements = st.lists(st.one_of(st.dictionaries(_text, _json, max_size=4), _json), max_size=6)


def render(elements: list[Any], separator: str) -> bytes:
    """The array as a server could send it, with whitespace between the tokens."""
    return ("[" + separator + ("," + separator).join(json.dumps(e, ensure_ascii=False)
                                                     for e in elements) + separator + "]"
            ).encode()


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


@settings(max_examples=300, deadline=None)
@given(elements=_elements, cuts=st.lists(st.integers(0, 10_000), max_size=40),
       separator=st.sampled_from(["", " ", "\n", "\r\n  "]))
def test_elements_come_out_whole_wherever_the_chunks_split(
        elements: list[Any], cuts: list[int], separator: str) -> None:
    data = render(elements, separator)
    reader = JsonArrayReader()
    got: list[Any] = []
    for chunk in chunked(data, cuts):
        got += reader.feed(chunk)
    got += reader.close()
    assert got == elements
    assert reader.finished


@given(elements=st.lists(st.dictionaries(_text, _scalar, max_size=3), min_size=1, max_size=5))
def test_each_element_is_given_as_soon_as_its_last_byte_arrives(
        elements: list[dict[str, Any]]) -> None:
    reader = JsonArrayReader()
    assert reader.feed(b"[") == []
    for index, element in enumerate(elements):
        text = ("," if index else "") + json.dumps(element)
        data = text.encode()
        assert reader.feed(data[:-1]) == []  # one byte short: not yet
        assert reader.feed(data[-1:]) == [element]
    assert reader.feed(b"]") == [] and reader.finished


def test_a_number_at_the_end_of_a_chunk_waits_for_its_next_digits() -> None:
    reader = JsonArrayReader()
    assert reader.feed(b"[12") == []
    assert reader.feed(b"3, 4") == [123]
    assert reader.feed(b"]") == [4]


@pytest.mark.parametrize("body,problem", [
    (b"", "empty"), (b"{\"items\": []}", "not a JSON array"), (b"[{\"a\": 1}", "inside"),
    (b"[{\"a\": 1}] x", "after the end"), (b"[{\"a\": nope}]", "not valid JSON"),
    (b"<html>502</html>", "not a JSON array"),
])
def test_a_body_that_is_not_a_whole_array_is_refused(body: bytes, problem: str) -> None:
    reader = JsonArrayReader()
    with pytest.raises(StreamFormatError, match=problem):
        reader.feed(body)
        reader.close()


def test_an_element_that_never_ends_is_refused_at_the_limit() -> None:
    reader = JsonArrayReader(max_chars=1000)
    reader.feed(b'[{"items": "')
    with pytest.raises(StreamFormatError, match="larger than 1000"):
        for _ in range(20):
            reader.feed(b"x" * 100)


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    reader = JsonArrayReader()
    assert reader.feed(b'[{"t": "a\xff\xfeb"}]') == [{"t": "a\ufffd\ufffdb"}]


def test_error_elements_and_error_bodies() -> None:
    body = {"error": {"code": 403, "message": "quota", "errors": [
        {"reason": "quotaExceeded", "domain": "youtube.quota"}]}}
    error = element_error(body)
    assert isinstance(error, ApiError) and error.kind == QUOTA and error.status == 403
    assert element_error({"items": []}) is None and element_error([1]) is None
    wrapped = error_from_http(404, json.dumps([{"error": {
        "code": 404, "message": "gone", "errors": [{"reason": "liveChatNotFound"}]}}]))
    assert wrapped.kind == NOT_FOUND and wrapped.message == "gone"
    assert error_from_http(404, b"404: Not Found").kind == STOP


@pytest.mark.parametrize("status,reason,refused", [
    (404, None, True),                   # the stream form is not offered
    (404, "liveChatNotFound", False),    # the chat is unknown: resolve it again, as polling does
    (403, "forbidden", True),
    (403, "liveChatDisabled", True),
    (403, "quotaExceeded", False),       # polling costs quota too
    (403, "rateLimitExceeded", False),   # too fast: wait, then stream again
    (403, "liveChatEnded", False),
    (429, "rateLimitExceeded", False),
    (500, None, False),
    (400, "pageTokenInvalid", False),
])
def test_which_answers_make_auto_poll_instead(status: int, reason: str | None,
                                              refused: bool) -> None:
    body = {"error": {"code": status, "message": "m",
                      "errors": [{"reason": reason}] if reason else []}}
    assert stream_refused(error_from_http(status, json.dumps([body]))) is refused


def test_the_stream_url_under_any_root() -> None:
    path = "youtube/v3/liveChat/messages/stream"
    assert stream_url("") == "https://youtube.googleapis.com/" + path
    assert stream_url("http://127.0.0.1:9/") == "http://127.0.0.1:9/" + path
    assert stream_url("http://127.0.0.1:9") == "http://127.0.0.1:9/" + path


@pytest.mark.parametrize("raw,name", [
    ("TEXT_MESSAGE_EVENT", "textMessageEvent"), ("textMessageEvent", "textMessageEvent"),
    ("SUPER_CHAT_EVENT", "superChatEvent"), ("TOMBSTONE", "tombstone"),
    ("MESSAGE_DELETED_EVENT", "messageDeletedEvent"), ("GIFT_EVENT", "giftEvent"),
    ("giftEvent", "giftEvent"), (None, None), (7, None), ("x" * 200, None),
])
def test_type_names_in_both_cases(raw: Any, name: str | None) -> None:
    assert type_name(raw) == name


def _item(kind: str, message_id: str, **snippet: Any) -> dict[str, Any]:
    return {"id": message_id, "snippet": {"type": kind, "publishedAt": "2026-03-05T17:04:11Z",
                                          **snippet},
            "authorDetails": {"channelId": "UCa", "displayName": "Ada"}}


def test_screaming_case_types_read_like_camel_case() -> None:
    page = parse_page({"items": [
        _item("TEXT_MESSAGE_EVENT", "m1", textMessageDetails={"messageText": "loud?"}),
        _item("SUPER_CHAT_EVENT", "m2", superChatDetails={"userComment": "paid?"}),
        _item("MESSAGE_DELETED_EVENT", "m3", messageDeletedDetails={"deletedMessageId": "m1"}),
        _item("USER_BANNED_EVENT", "m4",
              userBannedDetails={"bannedUserDetails": {"channelId": "UCbad"}}),
        _item("CHAT_ENDED_EVENT", "m5"),
    ]})
    assert [i.text for i in page.incomings] == ["loud?", "paid?"]
    assert "superchat" in page.incomings[1].flags
    assert page.moderation == [{"op": "withdraw", "external_id": "m1"},
                               {"op": "flag_author", "identity": "youtube:UCbad"}]
    assert page.chat_ended


@pytest.mark.parametrize("kind,details", [
    ("giftEvent", {"giftDetails": {"giftName": "Rose", "comboCount": 3}}),
    ("GIFT_EVENT", {"giftDetails": {"giftName": "Rose", "comboCount": 4}}),
    ("pollEvent", {"pollDetails": {"status": "active",
                                   "metadata": {"questionText": "Which topic next?"}}}),
    ("POLL_EVENT", {"pollDetails": {"status": "closed"}}),
    ("membershipGiftingEvent", {"membershipGiftingDetails": {"giftMembershipsCount": 5}}),
    ("giftMembershipReceivedEvent", {"giftMembershipReceivedDetails": {
        "memberLevelName": "Supporter", "associatedMembershipGiftingMessageId": "g"}}),
    ("MEMBERSHIP_GIFTING_EVENT", {}),
])
def test_gifts_polls_and_membership_gifting_are_not_questions(kind: str,
                                                              details: dict[str, Any]) -> None:
    page = parse_page({"items": [_item(kind, "x1", displayMessage="Which topic next?",
                                       **details)],
                       "activePollItem": _item("pollEvent", "p1", displayMessage="Poll?")})
    assert page.incomings == [] and page.moderation == [] and not page.chat_ended
    assert page.item_count == 1


def test_a_transient_format_error_is_not_a_refusal() -> None:
    assert not stream_refused(ApiError(TRANSIENT, "unreadable stream"))
