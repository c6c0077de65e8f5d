"""SVG snapshots of the main views (pytest-textual-snapshot's SVG extension, syrupy).

Stable by construction: a fixed clock for the age column, fixed received/history times (the
queue's `utc_now` is pinned), no blinking cursor on screen, a fixed terminal size. Review
changes with `pytest --snapshot-update` and the report before accepting.
"""

from __future__ import annotations

import pytest
from pytest_textual_snapshot import SVGImageExtension
from .tui_helpers import loaded, make_app, wait_for

import aggregator.decisions
import aggregator.health
import aggregator.store
from aggregator.commands import Command
from aggregator.health import HealthRegistry
from aggregator.client import LocalClient
from tests.conftest import incoming
from tui.app import build_moderator_app
from .tui_helpers import fixed_clock

PINNED = "2022-11-10T14:00:00.000Z"


@pytest.fixture
def pinned_time(monkeypatch):
    monkeypatch.setattr(aggregator.decisions, "utc_now", lambda: PINNED)
    monkeypatch.setattr(aggregator.store, "utc_now", lambda: PINNED)
    monkeypatch.setattr(aggregator.health, "utc_now", lambda: PINNED)


async def seed(queue) -> None:
    rows = [
        (1, "youtube", "Ana", "How will the budget for next year be decided?"),
        (2, "zoom", "Kaarel", "Can you say more about the grants programme?"),
        (3, "email", "Simona", "Will the recording be published afterwards?"),
        (4, "youtube", "Troll", "[@click=app.quit]click me[/] lol"),
        (5, "youtube", "李雷", "会议有中文字幕吗？ 🎉"),
        (6, "zoom", "Jan", "What is the timeline for the new policy?"),
    ]
    for n, source, author, text in rows:
        await queue.submit(incoming(n, text=text, source=source, author=author,
                                    meta={"subject": "Question for Maggie"}
                                    if source == "email" else {}))
    await queue.apply(Command(op="approve", question=2), "ana")
    await queue.apply(Command(op="approve", question=6), "ana")
    await queue.apply(Command(op="go_live", question=2), "ana")
    await queue.apply(Command(op="star", question=6), "ana")
    await queue.apply(Command(op="tag", question=6, args={"tags": ["policy"]}), "ana")
    await queue.apply(Command(op="assign", question=6, args={"assignee": "Maggie"}), "ana")
    await queue.apply(Command(op="dismiss", question=4, args={"reason": "spam"}), "ana")


@pytest.mark.parametrize("keys,name", [
    ((), "incoming"),
    (("2",), "host_list"),
    (("5",), "dismissed"),
    (("6", "down", "down"), "all"),
])
async def test_main_views(queue, pinned_time, snapshot, keys, name):
    await seed(queue)
    health = HealthRegistry()
    health.set("youtube", "live", quota_spent=120)
    health.set("zoom", "backoff", "HTTP 503", retry_at="2022-11-10T14:31:00.000Z")
    app = build_moderator_app(LocalClient(queue, health, actor="ana"),
                              meeting_title="Conversation with Maggie", clock=fixed_clock)
    async with app.run_test(size=(110, 32)) as pilot:
        m = await loaded(pilot)
        await pilot.press(*keys)
        await pilot.pause()
        await wait_for(pilot, lambda: "History" in m.detail.plain
                       and "loading" not in m.detail.plain)
        await wait_for(pilot, lambda: "Zoom backoff" in m.status_line.plain)
        await pilot.pause()
        assert app.export_screenshot() == snapshot(extension_class=SVGImageExtension, name=name)


async def test_help_and_dismiss_modal(queue, pinned_time, snapshot):
    await seed(queue)
    app = make_app(queue)
    async with app.run_test(size=(110, 32)) as pilot:
        await loaded(pilot)
        await pilot.press("d")
        await pilot.pause()
        await pilot.pause()
        assert app.export_screenshot() == snapshot(extension_class=SVGImageExtension,
                                                   name="dismiss_modal")


async def test_private_message_modal(queue, pinned_time, snapshot):
    """The confirmation before a private message reaches the host, over a row marked PRIV."""
    await seed(queue)
    await queue.submit(incoming(7, source="zoom", author="Grace", flags=("private",),
                                text="Maggie, a private note: my account was blocked after "
                                     "the March vote and nobody answers my mails."))
    app = make_app(queue)
    async with app.run_test(size=(110, 32)) as pilot:
        m = await loaded(pilot)
        await wait_for(pilot, lambda: m.queue_list.cursor_id == 7)
        await pilot.press("a")
        await wait_for(pilot, lambda: bool(app.screen.query("#private-cancel")))
        await pilot.pause()
        await pilot.pause()
        assert app.export_screenshot() == snapshot(extension_class=SVGImageExtension,
                                                   name="private_modal")


def day_health() -> HealthRegistry:
    """YouTube with its quota details, Zoom live but silent since 14:00, email, the server."""
    health = HealthRegistry()
    health.set("youtube", "live", "polling every 1.0 s", quota_spent=1200,
               quota_daily_units=10000, poll_interval_seconds=1.0)
    health.set("zoom", "live", "waiting for Zoom webhooks at POST /zoom/webhook")
    health.set("email", "live", "watching Maildir")
    health.set("server", "live", "http://127.0.0.1:8765")
    return health


@pytest.mark.parametrize("size,keys,name", [
    ((80, 24), (), "incoming_80x24"),
    ((80, 24), ("2",), "host_list_80x24"),
    ((80, 24), ("5",), "dismissed_80x24"),
    ((260, 32), (), "incoming_260"),
])
async def test_every_source_and_the_whole_row_at_80_and_260_columns(queue, pinned_time, snapshot,
                                                                    size, keys, name):
    await seed(queue)
    await queue.apply(Command(op="tag", question=6, args={"tags": ["Funding", "Annual plan"]}),
                      "ana")
    app = build_moderator_app(LocalClient(queue, day_health(), actor="ana"),
                              meeting_title="Conversation with Maggie", clock=fixed_clock)
    async with app.run_test(size=size) as pilot:
        m = await loaded(pilot)
        await pilot.press(*keys)
        await wait_for(pilot, lambda: all(f"{name} live" in m.status_line.plain
                                          for name in ("YouTube", "Zoom", "Email")))
        assert len(m.status_line.plain) <= size[0]
        await wait_for(pilot, lambda: "History" in m.detail.plain
                       and "loading" not in m.detail.plain)
        await pilot.pause()
        assert "silent 30m" in m.status_line.plain
        assert app.export_screenshot() == snapshot(extension_class=SVGImageExtension, name=name)


async def test_page_urls_and_people_screens(queue, pinned_time, snapshot):
    await seed(queue)
    await queue.apply(Command(op="ban", question=4), "ana")
    await queue.apply(Command(op="link", args={"identities": ["youtube:id-Ana",
                                                              "email:ana@example.org"]}), "ana")
    app = make_app(queue, page_urls=[
        ("host page (the host's browser)", "http://127.0.0.1:8765/host#token=HOST-TOKEN"),
        ("stream overlay (OBS browser source)",
         "http://127.0.0.1:8765/overlay#token=OVERLAY-TOKEN")])
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+u")
        await wait_for(pilot, lambda: bool(app.screen.query("#urls-text")))
        await pilot.pause()
        assert app.export_screenshot() == snapshot(extension_class=SVGImageExtension,
                                                   name="page_urls")
        await pilot.press("escape")
        await pilot.press("p")
        await wait_for(pilot, lambda: bool(getattr(app.screen, "rows", None)))
        await pilot.pause()
        assert app.export_screenshot() == snapshot(extension_class=SVGImageExtension,
                                                   name="people")
