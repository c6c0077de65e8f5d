"""Zoom websocket mode against a local server playing Zoom (token endpoint + event websocket).

The collector uses the real `websockets` client; the server (tests.support.zoom_cloud)
speaks Zoom's frames: `build_connection`, heartbeat acknowledgements and `message`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator

import pytest

from aggregator.collectors import build_collectors
from aggregator.collectors.base import Backoff
from aggregator.collectors.zoom_oauth import ZoomOAuth, redact
from aggregator.collectors.zoom_ws import ZoomWebSocketCollector, subscription_url_problem
from aggregator.config import parse_config
from aggregator.health import HealthRegistry
from aggregator.queue import QuestionQueue
from tests.support.zoom_cloud import FakeZoomCloud, file_event
from townhall.simulators.zoom_sender import chat_event


async def _until(predicate, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(collector: ZoomWebSocketCollector, queue: QuestionQueue) -> AsyncIterator[None]:
    task = asyncio.create_task(collector.run(queue))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make_collector(cloud: FakeZoomCloud, health: HealthRegistry, *, secret: str | None = None,
                   heartbeat: float = 30.0, silence: float | None = None,
                   backoff: Backoff | None = None,
                   grant_type: str = "account_credentials") -> ZoomWebSocketCollector:
    oauth = ZoomOAuth(cloud.token_url, cloud.client_id, secret or cloud.client_secret,
                      grant_type=grant_type, account_id=cloud.account_id)
    return ZoomWebSocketCollector(cloud.subscription_url, oauth, health,
                                  heartbeat_interval=heartbeat, silence_timeout=silence,
                                  backoff=backoff or Backoff(initial=0.02, maximum=0.2))


def zoom_ids(queue: QuestionQueue) -> list[str]:
    return sorted(q.external_id for q in queue.all() if q.source == "zoom")


@pytest.fixture
async def cloud() -> AsyncIterator[FakeZoomCloud]:
    async with FakeZoomCloud() as server:
        yield server


async def test_messages_arrive_once_across_drops_and_an_auth_failure(
        cloud: FakeZoomCloud, queue: QuestionQueue) -> None:
    health = HealthRegistry()
    collector = make_collector(cloud, health)
    sent: list[str] = []

    async def send(n: int, **kw: object) -> None:
        for i in range(n):
            body = chat_event(f"Question {len(sent)} — ¿qué tal? 🎤")
            assert await cloud.send_event(body, **kw) == 1  # delivered while connected
            sent.append(body["payload"]["object"]["chat_message"]["message_id"])

    async with running(collector, queue):
        await cloud.wait_live()
        await send(3)
        await send(2, as_object=True)  # lenient: content as an object, not a string
        await _until(lambda: len(zoom_ids(queue)) == 5)
        assert health.get("zoom").state == "live"

        await cloud.drop(abrupt=True)  # the network goes away
        await _until(lambda: cloud.live_connections == 1 and cloud.connections == 2)
        await send(3)
        await _until(lambda: len(zoom_ids(queue)) == 8)

        cloud.revoke_tokens()  # Zoom no longer accepts the token
        await cloud.drop(abrupt=False)
        await _until(lambda: cloud.live_connections == 1 and cloud.refused == 1)
        await send(2)
        await _until(lambda: len(zoom_ids(queue)) == 10)
        # a redelivered frame is stored once
        await cloud.send_event(chat_event("again", message_id=sent[0]))
        await _until(lambda: health.get("zoom").detail.get("duplicates") == 1)

    assert zoom_ids(queue) == sorted(sent)
    assert cloud.token_requests == 2  # the refused token was replaced, once
    assert health.get("zoom").received == 10
    [q] = [q for q in queue.all() if q.external_id == sent[0]]
    assert q.text == "Question 0 — ¿qué tal? 🎤"


async def test_files_arrive_with_content_as_a_string_or_an_object(
        cloud: FakeZoomCloud, queue: QuestionQueue) -> None:
    collector = make_collector(cloud, HealthRegistry())
    async with running(collector, queue):
        await cloud.wait_live()
        assert await cloud.send_event(file_event("as-string.pdf")) == 1
        assert await cloud.send_event(file_event("as-object.pdf", kind="webinar"),
                                      as_object=True) == 1
        await _until(lambda: len(zoom_ids(queue)) == 2)
    assert sorted(q.text for q in queue.all()) == ["Shared a file: as-object.pdf",
                                                   "Shared a file: as-string.pdf"]


async def test_after_a_reconnect_the_health_names_the_interval_that_may_be_missing(
        cloud: FakeZoomCloud, queue: QuestionQueue) -> None:
    from aggregator.model import parse_iso

    health = HealthRegistry()
    collector = make_collector(cloud, health, backoff=Backoff(initial=0.3, maximum=0.3))
    async with running(collector, queue):
        await cloud.wait_live()
        assert "may be missing" not in health.get("zoom").reason
        assert await cloud.send_event(chat_event("before the drop")) == 1
        await _until(lambda: len(zoom_ids(queue)) == 1)
        before_drop = time.time()
        await cloud.drop(abrupt=True)
        # sent while disconnected: Zoom does not deliver it later
        assert await cloud.send_event(chat_event("lost")) == 0
        await _until(lambda: cloud.live_connections == 1 and cloud.connections == 2)
        await _until(lambda: "may be missing" in health.get("zoom").reason)
        after_reconnect = time.time()
    [gap] = health.get("zoom").detail["missed_intervals"]
    start, end = parse_iso(gap["from"]).timestamp(), parse_iso(gap["to"]).timestamp()
    # from the last frame of the old connection to the moment the new one went live
    # (times in the health are cut to milliseconds, hence the 0.01)
    assert start <= before_drop + 0.01 and before_drop - 0.01 <= end <= after_reconnect + 0.01
    assert start < end
    assert gap["from"] in health.get("zoom").reason and gap["to"] in health.get("zoom").reason


async def test_heartbeats_are_sent_and_acknowledged(cloud: FakeZoomCloud,
                                                    queue: QuestionQueue) -> None:
    collector = make_collector(cloud, HealthRegistry(), heartbeat=0.05, silence=1.0)
    async with running(collector, queue):
        await cloud.wait_live()
        await _until(lambda: cloud.heartbeats >= 4)
    assert cloud.connections == 1  # the acknowledgements kept the connection alive


async def test_a_silent_connection_is_replaced(queue: QuestionQueue) -> None:
    health = HealthRegistry()
    async with FakeZoomCloud(ack_heartbeats=False) as cloud:
        collector = make_collector(cloud, health, heartbeat=0.05, silence=0.3,
                                   backoff=Backoff(initial=1.0, maximum=1.0))
        async with running(collector, queue):
            await _until(lambda: getattr(health.get("zoom"), "state", "") == "backoff")
            assert "no frame from Zoom" in health.get("zoom").reason
            assert health.get("zoom").retry_at
            await _until(lambda: cloud.connections >= 2)


async def test_the_token_is_refreshed_before_it_expires(queue: QuestionQueue) -> None:
    async with FakeZoomCloud(token_lifetime=0.6) as cloud:
        health = HealthRegistry()
        collector = make_collector(cloud, health, grant_type="client_credentials")
        async with running(collector, queue):
            await cloud.wait_live()
            await _until(lambda: cloud.token_requests >= 3)
            assert cloud.connections == 1  # refreshing does not reconnect
            await cloud.drop()
            await _until(lambda: cloud.live_connections == 1)
            assert cloud.send_event  # connected again
            assert await cloud.send_event(chat_event("after refresh")) == 1
            await _until(lambda: len(zoom_ids(queue)) == 1)
        assert cloud.refused == 0  # every reconnect used a token that was still valid
        assert health.get("zoom").detail["token_refreshes"] >= 2


async def test_wrong_credentials_back_off_with_a_reason_and_no_secret(
        cloud: FakeZoomCloud, queue: QuestionQueue) -> None:
    health = HealthRegistry()
    collector = make_collector(cloud, health, secret="s3cr3t-wrong",
                               backoff=Backoff(initial=1.0, maximum=1.0))
    async with running(collector, queue):
        await _until(lambda: getattr(health.get("zoom"), "state", "") == "backoff")
    reason = health.get("zoom").reason
    assert "HTTP 401" in reason and "Invalid client_id or client_secret" in reason
    assert "client_secret_env" in reason and "s3cr3t" not in reason
    assert cloud.connections == 0


async def test_bad_frames_are_counted_and_the_connection_goes_on(
        cloud: FakeZoomCloud, queue: QuestionQueue) -> None:
    health = HealthRegistry()
    collector = make_collector(cloud, health)
    async with running(collector, queue):
        await cloud.wait_live()
        await cloud.send_frame("not json")
        await cloud.send_frame('{"module": "message", "content": "{broken"}')
        await cloud.send_event({"event": "meeting.chat_message_sent", "payload": {}})
        await cloud.send_frame('{"module": "something_new"}')
        await cloud.send_event({"event": "meeting.participant_joined", "payload": {}})
        await cloud.send_event(chat_event("still fine"))
        await _until(lambda: len(zoom_ids(queue)) == 1)
    detail = health.get("zoom").detail
    assert detail["rejected"] == 3
    assert detail["unknown_event_names"] == {"module something_new": 1,
                                             "meeting.participant_joined": 1}
    assert cloud.connections == 1


async def test_a_store_failure_is_retried_because_zoom_will_not_redeliver(
        cloud: FakeZoomCloud, queue: QuestionQueue) -> None:
    health = HealthRegistry()
    collector = make_collector(cloud, health)
    conn = sqlite3.connect(queue.store.path, timeout=10)
    conn.execute("CREATE TRIGGER fail_zoom BEFORE INSERT ON questions WHEN NEW.source = 'zoom' "
                 "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END")
    conn.commit()
    try:
        async with running(collector, queue):
            await cloud.wait_live()
            await cloud.send_event(chat_event("survives a hiccup"))
            await _until(lambda: health.get("zoom").detail.get("store_failures", 0) >= 1)
            conn.execute("DROP TRIGGER fail_zoom")
            conn.commit()
            await _until(lambda: len(zoom_ids(queue)) == 1)
    finally:
        conn.close()


def test_config_problems_stop_the_collector_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TH_TEST_ZOOM_ID", raising=False)
    config = parse_config('[zoom]\nenabled = true\nmode = "websocket"\n'
                          'client_id_env = "TH_TEST_ZOOM_ID"\naccount_id = "a"\n'
                          'subscription_url = "wss://ws.zoom.us/ws?subscriptionId=x"\n')
    [collector] = build_collectors(config, HealthRegistry())
    with pytest.raises(Exception, match="TH_TEST_ZOOM_ID"):
        asyncio.run(collector.run(None))  # type: ignore[arg-type]


@pytest.mark.parametrize("url, ok", [
    ("wss://ws.zoom.us/ws?subscriptionId=x", True),
    ("ws://127.0.0.1:9/ws", True),
    ("ws://ws.zoom.us/ws", False),  # the token would travel in clear text
    ("https://ws.zoom.us/ws", False),
    ("", False),
])
def test_subscription_url_must_be_wss_except_on_loopback(url: str, ok: bool) -> None:
    assert (subscription_url_problem(url) is None) is ok


def test_tokens_are_redacted_from_urls() -> None:
    text = "failed: wss://ws.zoom.us/ws?subscriptionId=x&access_token=eyJhbGci.abc.def (x)"
    assert redact(text) == "failed: wss://ws.zoom.us/ws?subscriptionId=x&access_token=*** (x)"


async def test_runtime_builds_the_websocket_collector_from_config(
        cloud: FakeZoomCloud, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from townhall.runtime import Runtime

    monkeypatch.setenv("TH_WS_ID", cloud.client_id)
    monkeypatch.setenv("TH_WS_SECRET", cloud.client_secret)
    config = parse_config(
        f'[store]\npath = "{tmp_path / "t.db"}"\n[zoom]\nenabled = true\nmode = "websocket"\n'
        f'client_id_env = "TH_WS_ID"\nclient_secret_env = "TH_WS_SECRET"\n'
        f'account_id = "{cloud.account_id}"\ntoken_url = "{cloud.token_url}"\n'
        f'subscription_url = "{cloud.subscription_url}"\n')
    async with Runtime(config, serve=False) as rt:
        await cloud.wait_live()
        await _until(lambda: getattr(rt.health.get("zoom"), "state", "") == "live")
        assert await cloud.send_event(chat_event("through the whole runtime")) == 1
        await _until(lambda: len(zoom_ids(rt.queue)) == 1)
