"""Zoom event parsing and signing as pure functions: hostile bodies give BadEvent, nothing else."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.collectors.zoom_events import (
    BadEvent,
    chat_incoming,
    file_incoming,
    signature,
    signature_valid,
    timestamp_fresh,
)
from tests.support.zoom_cloud import file_event
from townhall.simulators.zoom_sender import chat_event, encode

SECRET = b"test_secret_token"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                     children, max_size=4),
    max_leaves=20,
)
CHAT_KEYS = ["date_time", "sender_session_id", "sender_name", "sender_email", "sender_type",
             "recipient_type", "recipient_session_id", "message_id", "message_content",
             "file_ids", "breakout_room_uuid"]
FILE_KEYS = ["date_time", "sender_name", "sender_email", "recipient_type", "message_id",
             "file_id", "file_name", "file_size", "file_type", "download_url"]


def test_signature_is_zooms_hmac_over_the_raw_bytes() -> None:
    raw = encode(chat_event("emoji at the end 🔑"))
    expected = "v0=" + hmac.new(SECRET, b"v0:1739923528:" + raw, hashlib.sha256).hexdigest()
    assert signature(SECRET, "1739923528", raw) == expected
    assert signature_valid(SECRET, "1739923528", raw, expected)
    # the same event re-serialised by Python's json.dumps has other bytes and fails
    assert not signature_valid(SECRET, "1739923528", json.dumps(json.loads(raw)).encode(),
                               expected)
    assert not signature_valid(SECRET, "1739923528", raw, expected.upper())
    assert not signature_valid(SECRET, "", raw, expected)


def test_timestamp_window() -> None:
    assert timestamp_fresh("1000", 300, 1300) and timestamp_fresh("1300", 300, 1000)
    assert not timestamp_fresh("999", 300, 1300)
    assert not timestamp_fresh("-5", 300, 0) and not timestamp_fresh("1e3", 300, 1000)


def test_lenient_fields() -> None:
    body = chat_event("hi", recipient_type="everyone", file_ids=["f1"],
                      breakout_room_uuid="room==", sender_context={"unknown": "shape"})
    body["payload"]["object"]["chat_message"]["date_time"] = "not a date"
    body["payload"]["object"]["id"] = "85746065432"  # a string in some events
    incoming = chat_incoming(body)
    assert incoming.flags == ("attachment",)
    assert incoming.meta["breakout_room_uuid"] == "room=="
    assert incoming.meta["meeting_id"] == "85746065432"
    assert incoming.sent_at is not None  # fell back to event_ts
    del body["payload"]["object"]["chat_message"]["recipient_type"]
    body["payload"]["object"]["chat_message"]["recipient_session_id"] = "123"
    assert "private" in chat_incoming(body).flags


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(st.sampled_from(CHAT_KEYS), json_values), json_values, json_values)
def test_any_chat_message_shape_gives_an_incoming_or_bad_event(chat, object_id, event_ts) -> None:
    body = {"event": "webinar.chat_message_sent", "event_ts": event_ts,
            "payload": {"object": {"id": object_id, "uuid": object_id, "chat_message": chat}}}
    try:
        incoming = chat_incoming(body)
    except BadEvent as exc:
        assert str(exc)
    else:
        assert incoming.external_id and isinstance(incoming.text, str)
        assert all(isinstance(v, str) and v for v in incoming.meta.values())
        if isinstance(object_id, dict) or isinstance(object_id, bool):
            assert "meeting_id" not in incoming.meta


@settings(max_examples=80, deadline=None)
@given(json_values)
def test_any_json_body_gives_an_incoming_or_bad_event(body) -> None:
    try:
        chat_incoming(body)
    except BadEvent:
        pass


def test_a_date_time_outside_the_utc_range_falls_back_to_event_ts() -> None:
    # Parses, but converting it to UTC overflows: the OverflowError used to escape
    # chat_incoming, so the webhook answered 503 (Zoom retries) and the websocket mode
    # retried it as a store failure and then dropped the message.
    body = chat_event("Is year one too early?")
    body["payload"]["object"]["chat_message"]["date_time"] = "0001-01-01T00:00:00+01:00"
    incoming = chat_incoming(body)
    assert incoming.text == "Is year one too early?"
    assert incoming.sent_at is not None and incoming.sent_at.startswith("20")


# --- files posted in the chat ------------------------------------------------------------------


def test_a_file_posted_in_a_meeting_becomes_a_question_naming_it() -> None:
    body = file_event("Slides – Q3 plan.pdf", sender_name="Zoë", sender_email="Zoe@Example.org")
    incoming = file_incoming(body)
    shared = body["payload"]["object"]["chat_message_file"]
    assert incoming.text == "Shared a file: Slides – Q3 plan.pdf"
    assert incoming.external_id == shared["message_id"]
    assert incoming.flags == ("attachment",)
    assert (incoming.author.name, incoming.author.id) == ("Zoë", "zoe@example.org")
    assert incoming.meta["meeting_id"] == "85746065432" and incoming.meta["kind"] == "meeting"
    assert incoming.meta["file_name"] == "Slides – Q3 plan.pdf"
    assert incoming.meta["file_size"] == 52_311 and incoming.meta["file_type"] == "pdf"
    # nothing points at the file's contents: the download link is not kept
    assert "secret-download" not in repr(incoming)


def test_a_webinar_file_uses_the_webinar_keys_and_can_be_private() -> None:
    body = file_event("notes.txt\x1b[2J", kind="webinar", recipient_type="host",
                      meeting_id=91234567890)
    incoming = file_incoming(body)
    assert incoming.meta["kind"] == "webinar" and incoming.meta["meeting_id"] == "91234567890"
    assert incoming.flags == ("private", "attachment")
    assert "\x1b" not in incoming.text and incoming.text.startswith("Shared a file: notes.txt")


@pytest.mark.parametrize("change, reason", [
    (lambda b: b["payload"]["object"].pop("chat_message_file"),
     "missing field: payload.object.chat_message_file"),
    (lambda b: b["payload"]["object"]["chat_message_file"].pop("file_name"),
     "missing field: payload.object.chat_message_file.file_name"),
    (lambda b: b["payload"]["object"]["chat_message_file"].update(file_name=["x"]),
     "wrong type for: payload.object.chat_message_file.file_name"),
    (lambda b: b["payload"]["object"]["chat_message_file"].update(file_name=" \x1b "),
     "file_name"),
    (lambda b: b["payload"]["object"]["chat_message_file"].update(message_id="   "),
     "message_id"),
    (lambda b: b["payload"]["object"].update(meeting_id=True), "meeting_id"),
])
def test_unusable_file_events_are_bad_events_naming_the_field(change, reason: str) -> None:
    body = file_event("a.pdf")
    change(body)
    with pytest.raises(BadEvent, match=re.escape(reason)):
        file_incoming(body)


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(st.sampled_from(FILE_KEYS), json_values), json_values)
def test_any_file_message_shape_gives_an_incoming_or_bad_event(shared, object_id) -> None:
    body = {"event": "meeting.chat_message_file_sent", "event_ts": 1,
            "payload": {"object": {"meeting_id": object_id, "chat_message_file": shared}}}
    try:
        incoming = file_incoming(body)
    except BadEvent as exc:
        assert str(exc)
    else:
        assert incoming.external_id and incoming.text.startswith("Shared a file: ")
        assert all(v not in (None, "") for v in incoming.meta.values())


def test_unknown_fields_zoom_adds_later_are_ignored() -> None:
    body = chat_event("still a question", sender_context={"role": [1, 2]},
                      some_future_field=None)
    body["payload"]["object"]["breakout_room_uuid"] = {"not": "text"}
    assert chat_incoming(body).text == "still a question"
