"""The YouTube collector through the real google-api-python-client against the fake API.

Every test starts FakeYouTubeAPI (townhall/simulators) on a loopback port and points the
collector's `api_endpoint` at it; the queue is a real one on a temporary SQLite store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aggregator.collectors.base import CollectorEnded, CollectorStopped
from aggregator.collectors.youtube import CHECKPOINT
from aggregator.commands import Command
from aggregator.health import HealthRegistry
from aggregator.model import Status
from aggregator.queue import QuestionQueue
from townhall.simulators.youtube_api import FakeYouTubeAPI
from tests.conftest import started_queue
from tests.support.youtube_helpers import (
    KEY_ENV, Sleeps, collector, live_video, run_to_end, run_until, texts, yt_config,
)

pytestmark = pytest.mark.usefixtures("youtube_key")


@pytest.fixture
async def fake() -> AsyncIterator[FakeYouTubeAPI]:
    async with live_video(polling_millis=10, history_limit=3) as api:
        yield api


def polled(queue: QuestionQueue) -> bool:
    """The collector has committed its first page (it holds a page token)."""
    return bool((queue.checkpoint(CHECKPOINT) or {}).get("page_token"))


def chat_requests(fake: FakeYouTubeAPI) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.path.endswith("/liveChat/messages")]


async def test_backlog_is_flagged_history_and_later_pages_are_not(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    for i in range(5):
        fake.say("chat-1", f"old {i}?")
    c = collector(yt_config(fake.url))
    await run_until(c, queue, lambda: polled(queue) and len(queue) == 3)
    fake.say("chat-1", "new one?")
    await run_until(c, queue, lambda: len(queue) == 4)
    by_text = {q.text: q for q in queue.all()}
    # the first page carries only the most recent messages (history_limit=3), all history
    assert sorted(by_text) == ["new one?", "old 2?", "old 3?", "old 4?"]
    assert all("history" in by_text[f"old {i}?"].flags for i in (2, 3, 4))
    assert "history" not in by_text["new one?"].flags
    params = chat_requests(fake)
    assert params[0]["part"] == "id,snippet,authorDetails" and params[0]["maxResults"] == "2000"
    assert "pageToken" not in params[0] and "pageToken" in params[-1]
    assert all(p["key"] == "test-key" for p in params)


async def test_message_types_super_chats_and_hostile_text(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    c = collector(yt_config(fake.url))
    await run_until(c, queue, lambda: polled(queue))
    fake.say("chat-1", "Ünïcödé 質問 — كيف؟ 🙂", name="Zoë \u202eevil", channel="UCzoe")
    fake.say("chat-1", "a\x1b]0;title\x07b\x1b[2Jc [@click=app.quit]x[/] \u200bend")
    fake.superchat("chat-1", "How does this scale?", amount="$5.00")
    fake.superchat("chat-1", None)  # a super chat without a comment asks nothing
    fake.sticker("chat-1", "Sticker with a question?")
    fake.sticker("chat-1")
    fake.milestone("chat-1", "12 months! When is the next call?")
    fake.add_item("chat-1", "pollEvent", {"pollDetails": {"status": "active"}}, display="poll",
                  channel="UCowner", name="Owner")
    fake.add_item("chat-1", "newSponsorEvent", {}, display="new member", channel="UCn", name="N")
    fake.say("chat-1", "", name="Empty")  # nothing to ask: skipped
    fake.add_item("chat-1", "textMessageEvent", {"textMessageDetails": {"messageText": 12}},
                  display=None, channel="UCodd", name="Odd")  # wrong type: skipped
    fake.say("chat-1", "last")
    await run_until(c, queue, lambda: "last" in texts(queue))
    got = {q.text: q for q in queue.all()}
    assert set(got) == {"Ünïcödé 質問 — كيف؟ 🙂", "a]0;titleb[2Jc [@click=app.quit]x[/] end",
                        "How does this scale?", "Sticker with a question?",
                        "12 months! When is the next call?", "last"}
    zoe = got["Ünïcödé 質問 — كيف؟ 🙂"]
    assert zoe.author.name == "Zoë evil" and zoe.author.id == "UCzoe"
    assert zoe.author.url == "http://www.youtube.com/channel/UCzoe"
    superchat = got["How does this scale?"]
    assert "superchat" in superchat.flags and superchat.meta["amount"] == "$5.00"
    assert "superchat" in got["Sticker with a question?"].flags
    assert "superchat" in got["12 months! When is the next call?"].flags
    assert "superchat" not in got["last"].flags
    assert all(q.sent_at and q.sent_at.endswith("Z") for q in got.values())


async def test_deletions_withdraw_and_bans_flag_without_becoming_questions(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    c = collector(yt_config(fake.url))
    await run_until(c, queue, lambda: polled(queue))
    first = fake.say("chat-1", "to be deleted?")
    kept = fake.say("chat-1", "approved then retracted?")
    spam1 = fake.say("chat-1", "buy now?", channel="UCspam", name="Spam Bot")
    spam2 = fake.say("chat-1", "buy again?", channel="UCspam", name="Spam Bot")
    await run_until(c, queue, lambda: len(queue) == 4)
    ids = {q.external_id: q.id for q in queue.all()}
    await queue.apply(Command(op="approve", question=ids[kept]), "ana")
    await queue.apply(Command(op="dismiss", question=ids[spam2], args={"reason": "spam"}), "ana")
    fake.delete("chat-1", first)
    fake.retract("chat-1", kept)
    fake.ban("chat-1", "UCspam", seconds=300)
    fake.say("chat-1", "after")
    await run_until(c, queue, lambda: "after" in texts(queue)
                    and "withdrawn" in queue.get(ids[kept]).flags
                    and "banned_author" in queue.get(ids[spam1]).flags)
    deleted, retracted = queue.get(ids[first]), queue.get(ids[kept])
    assert deleted.status is Status.DISMISSED and deleted.dismiss_reason == "withdrawn"
    assert "withdrawn" in deleted.flags
    assert retracted.status is Status.QUEUED and "withdrawn" in retracted.flags
    assert queue.get(ids[spam1]).status is Status.NEW
    assert "banned_author" not in queue.get(ids[spam2]).flags  # closed: left alone
    assert len(queue) == 5  # the moderation events (by the moderator) are not questions
    assert not any(q.author.name == "Chat Moderator" for q in queue.all())
    history = [h.action for h in queue.history(ids[first])]
    assert history.count("dismiss") == 1


async def test_full_pages_are_followed_at_once_and_everything_is_stored_once(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    sleeps = Sleeps()
    c = collector(yt_config(fake.url), sleep=sleeps)
    await run_until(c, queue, lambda: polled(queue))
    fake.say_many("chat-1", [f"q{i}?" for i in range(4_500)])
    await run_until(c, queue, lambda: len(queue) == 4_500, timeout=30)
    assert sorted(texts(queue)) == sorted(f"q{i}?" for i in range(4_500))
    counts = [int(p.get("maxResults", 0)) for p in chat_requests(fake)]
    assert set(counts) == {2000}
    # two full pages (2000, 2000) were each followed by an immediate call
    assert sleeps.delays.count(0.0) >= 2
    assert all(d >= 0.01 for d in sleeps.delays if d != 0.0)


async def test_restart_resumes_from_the_checkpoint(fake: FakeYouTubeAPI, db_path) -> None:
    
    for i in range(3):
        fake.say("chat-1", f"before {i}?")
    async with started_queue(db_path) as queue:
        await run_until(collector(yt_config(fake.url)), queue,
                        lambda: polled(queue) and len(queue) == 3)
        await queue.flush()
        token = queue.checkpoint(CHECKPOINT)["page_token"]
    # messages arrive while Townhall is down; history_limit=3 would lose some without the token
    for i in range(6):
        fake.say("chat-1", f"while down {i}?")
    requests_before = len(chat_requests(fake))
    async with started_queue(db_path) as queue:
        await run_until(collector(yt_config(fake.url)), queue, lambda: len(queue) == 9)
        await queue.flush()
        assert chat_requests(fake)[requests_before]["pageToken"] == token
        assert sorted(texts(queue)) == sorted([f"before {i}?" for i in range(3)]
                                              + [f"while down {i}?" for i in range(6)])
        assert not any("history" in q.flags for q in queue.all() if q.text.startswith("while"))
        assert len({q.external_id for q in queue.all()}) == 9


async def test_moderation_pending_at_a_crash_is_applied_on_restart(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    from aggregator.queue import Checkpoint

    c = collector(yt_config(fake.url))
    mid = fake.say("chat-1", "deleted while we crashed?")
    await run_until(c, queue, lambda: polled(queue) and len(queue) == 1)
    state = dict(queue.checkpoint(CHECKPOINT))
    state["pending"] = [{"op": "withdraw", "external_id": mid}, "junk"]
    await queue.save_checkpoint(Checkpoint(CHECKPOINT, state))  # as if killed before applying
    await run_until(collector(yt_config(fake.url)), queue,
                    lambda: queue.checkpoint(CHECKPOINT)["pending"] == [])
    assert queue.all()[0].status is Status.DISMISSED


async def test_end_of_chat_ends_cleanly(fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    fake.say("chat-1", "last words?")
    fake.end_chat("chat-1")
    with pytest.raises(CollectorEnded, match="ended"):
        await run_to_end(collector(yt_config(fake.url, video="", live_chat_id="chat-1")), queue)
    assert texts(queue) == ["last words?"]


async def test_live_chat_ended_error_ends(fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    fake.fail("liveChatEnded")
    with pytest.raises(CollectorEnded):
        await run_to_end(collector(yt_config(fake.url)), queue)


async def test_a_finished_stream_ends_without_polling(fake: FakeYouTubeAPI,
                                                      queue: QuestionQueue) -> None:
    fake.end_chat("chat-1")
    with pytest.raises(CollectorEnded, match="already ended"):
        await run_to_end(collector(yt_config(fake.url)), queue)
    assert not chat_requests(fake)


@pytest.mark.parametrize("reason,status", [("rateLimitExceeded", None), ("backendError", None),
                                           ("anything", 429), ("internalError", 500)])
async def test_transient_errors_back_off_then_recover(
        fake: FakeYouTubeAPI, queue: QuestionQueue, reason: str, status: int | None) -> None:
    health = HealthRegistry()
    seen_states: list[str] = []
    sleeps = Sleeps()
    c = collector(yt_config(fake.url), health, sleep=sleeps)
    fake.fail(reason, status=status, count=3)
    fake.say("chat-1", "still arrives?")

    def done() -> bool:
        state = health.get("youtube")
        if state:
            seen_states.append(state.state)
        return len(queue) == 1
    await run_until(c, queue, done)
    assert "backoff" in seen_states
    # exponential from the current interval (0.01 s), capped at 0.05 s in these tests
    backoffs = sleeps.delays[:3]
    assert all(0.005 <= d <= 0.05 for d in backoffs) and len(backoffs) == 3


async def test_quota_exceeded_stops_with_the_reset_time(fake: FakeYouTubeAPI,
                                                        queue: QuestionQueue) -> None:
    fake.fail("quotaExceeded")
    with pytest.raises(CollectorStopped, match="midnight Pacific") as info:
        await run_to_end(collector(yt_config(fake.url)), queue)
    assert "quota" in str(info.value)
    saved = queue.checkpoint(CHECKPOINT)
    assert saved["quota_units"] >= 10_000_000  # the planner now knows the day is spent


@pytest.mark.parametrize("reason,words", [("forbidden", "youtube-login"),
                                          ("liveChatDisabled", "turned off"),
                                          ("keyInvalid", "API key")])
async def test_permission_problems_stop_with_the_reason(
        fake: FakeYouTubeAPI, queue: QuestionQueue, reason: str, words: str) -> None:
    fake.fail(reason)
    with pytest.raises(CollectorStopped, match=reason) as info:
        await run_to_end(collector(yt_config(fake.url)), queue)
    assert words in str(info.value)
    assert "test-key" not in str(info.value)  # the key (in the URL) never reaches a message


async def test_chat_not_found_resolves_again_once(fake: FakeYouTubeAPI,
                                                  queue: QuestionQueue) -> None:
    fake.fail("liveChatNotFound")
    fake.say("chat-1", "found again?")
    await run_until(collector(yt_config(fake.url)), queue, lambda: len(queue) == 1)
    videos = [r for r in fake.requests if r.path.endswith("/videos")]
    assert len(videos) == 2

    fake.fail("liveChatNotFound", count=2)
    with pytest.raises(CollectorStopped, match="liveChatNotFound"):
        await run_to_end(collector(yt_config(fake.url)), queue)


async def test_invalid_page_token_starts_again_without_duplicates(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    c = collector(yt_config(fake.url))
    fake.say("chat-1", "one?")
    await run_until(c, queue, lambda: polled(queue) and len(queue) == 1)
    fake.fail("pageTokenInvalid")
    fake.say("chat-1", "two?")
    await run_until(c, queue, lambda: len(queue) == 2)
    assert sorted(texts(queue)) == ["one?", "two?"]
    assert any("pageToken" not in p for p in chat_requests(fake)[2:])


async def test_network_errors_back_off(queue: QuestionQueue) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    health = HealthRegistry()
    sleeps = Sleeps()
    c = collector(yt_config(f"http://127.0.0.1:{port}/"), health, sleep=sleeps)
    await run_until(c, queue, lambda: len(sleeps.delays) >= 3)
    state = health.get("youtube")
    assert state is not None and state.state == "backoff" and "network" in (state.reason or "")
    assert state.detail["quota_units_spent"] >= 3  # failed calls count too


async def test_waits_for_the_stream_to_start(fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    fake.add_video("abcdefghijk", "chat-later", live=False)
    health = HealthRegistry()
    c = collector(yt_config(fake.url, video="https://youtu.be/abcdefghijk"), health)
    await run_until(c, queue, lambda: getattr(health.get("youtube"), "state", "") == "waiting")
    assert health.get("youtube").reason == "waiting for the stream to start"
    fake.start_stream("abcdefghijk")
    fake.say("chat-later", "started?")
    await run_until(c, queue, lambda: len(queue) == 1)


async def test_unknown_video_stops(fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    with pytest.raises(CollectorStopped, match="not found"):
        await run_to_end(collector(yt_config(fake.url, video="zzzzzzzzzzz")), queue)


async def test_live_chat_id_skips_resolving(fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    fake.say("chat-1", "direct?")
    c = collector(yt_config(fake.url, video="", live_chat_id="chat-1"))
    await run_until(c, queue, lambda: len(queue) == 1)
    assert not [r for r in fake.requests if r.path.endswith("/videos")]


async def test_missing_api_key_stops_with_the_variable_name(
        fake: FakeYouTubeAPI, queue: QuestionQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(CollectorStopped, match=KEY_ENV):
        await run_to_end(collector(yt_config(fake.url)), queue)


async def test_health_shows_quota_spent_and_projected(fake: FakeYouTubeAPI,
                                                      queue: QuestionQueue) -> None:
    health = HealthRegistry()
    c = collector(yt_config(fake.url, daily_quota_units=10_000), health)
    fake.say("chat-1", "hi?")
    await run_until(c, queue, lambda: "poll_interval_seconds" in getattr(
        health.get("youtube"), "detail", {}))
    detail = health.get("youtube").detail
    assert detail["quota_units_spent"] == 1 + 5 * len(chat_requests(fake)) == fake.units
    assert detail["quota_daily_units"] == 10_000
    assert detail["quota_projected_units"] <= 9_500
    assert detail["quota_resets_at"].endswith("Z")
    # an hour for 9,500 units: the floor (not the server's 10 ms) sets the interval
    assert detail["poll_interval_seconds"] >= 1.8
    assert queue.checkpoint(CHECKPOINT)["quota_units"] == fake.units


async def test_the_streams_start_is_kept_as_the_recordings_start(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    fake.say("chat-1", "is the recording on?")
    c = collector(yt_config(fake.url))
    await run_until(c, queue, lambda: polled(queue))
    # the fake API reports the moment the video went live as its actualStartTime
    started = next(iter(fake.videos.values())).started_at
    assert queue.store.meeting() == {"stream_started_at": started[:23] + "Z"}
    # a moderator's mark is kept apart, and wins in the exports (tests/unit/test_after_call.py)
    await queue.apply(Command(op="recording_started", args={"at": "2026-03-05T17:01:00Z"}), "m")
    assert queue.store.meeting()["recording_started_at"] == "2026-03-05T17:01:00.000Z"
