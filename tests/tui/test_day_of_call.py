"""The console a moderation team relies on during the call: every source in the status line,
the page URLs at any time, the People view, who asked a manual question, a quit that asks,
and a screen that fits 80 columns."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from rich.style import Style
from textual.widgets._toast import Toast

from aggregator.commands import Command
from aggregator.config import Config, TuiConfig
from aggregator.health import CollectorHealth, HealthRegistry
from aggregator.client import LocalClient
from aggregator.model import Author, Hint, Question, Status
from aggregator.server.ws import SESSIONS
from tests.conftest import incoming
from townhall.run import moderator_name, stop_warnings
from townhall.urls import invoked_as, page_urls
from tui.app import build_moderator_app, system_clock
from tui.keymap import ALL_KEYS
from tui.screens.help import help_content
from tui.screens.modals import ConfirmPrompt
from tui.screens.people import NOT_AVAILABLE, PeopleScreen
from tui.screens.urls import UrlsScreen
from tui.widgets.key_footer import KeyFooter
from tui.widgets.rows import columns_for, marks_text, row_segments
from tui.widgets.status_line import status_content

from .tui_helpers import FIXED_NOW, fixed_clock, loaded, make_app, wait_for

NOW = FIXED_NOW.timestamp()


def health(name: str, state: str = "live", since_minutes: float = 1, **kw: Any
           ) -> CollectorHealth:
    since = FIXED_NOW.timestamp() - since_minutes * 60
    from datetime import datetime, timezone
    iso = datetime.fromtimestamp(since, timezone.utc).isoformat().replace("+00:00", "Z")
    return CollectorHealth(name=name, state=state, since=iso, **kw)


FOUR = [
    health("youtube", reason="polling every 1.0 s", per_minute=14,
           detail={"quota_daily_units": 10000, "quota_spent": 1200,
                   "poll_interval_seconds": 1.0, "quota_projected": 9000}),
    health("zoom", since_minutes=20, reason="waiting for Zoom webhooks at POST /zoom/webhook"),
    health("email", reason="watching /tmp/Maildir", per_minute=2),
    health("server", reason="http://127.0.0.1:8765"),
]


# --- the status line ------------------------------------------------------------------------

@pytest.mark.parametrize("width", [80, 260])
def test_every_source_is_in_the_status_line_at_80_and_260_columns(width):
    content = status_content(FOUR, connected=True, connection_reason=None,
                             last_arrivals={"youtube": NOW - 30, "email": NOW - 600},
                             now=NOW, width=width)
    text = content.plain
    assert len(text) <= width
    for name in ("YouTube live", "Zoom live", "Email live", "server live"):
        assert name in text
    assert "⚠ silent 20m" in text  # Zoom: live for 20 minutes, not one message
    assert "<1m ago" in text and "10m ago" in text  # the last message's age per source
    if width == 260:
        assert "quota spent 1200" in text and "14/min" in text  # extras where room allows
        assert text.index("YouTube") < text.index("Zoom") < text.index("Email")


def test_a_quiet_source_is_not_silent_before_its_limit_and_email_waits_longer():
    text = status_content([health("zoom", since_minutes=3), health("email", since_minutes=20)],
                          connected=True, connection_reason=None, now=NOW, width=120).plain
    assert "silent" not in text and "no message yet" in text


async def test_notifications_stand_above_the_status_line(queue):
    h = HealthRegistry()
    h.set("youtube", "live")
    app = build_moderator_app(LocalClient(queue, h, actor="ana"), clock=fixed_clock)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        m = await loaded(pilot)
        for i in range(3):
            app.notify(f"notice {i} " * 12, markup=False, timeout=30)
        await wait_for(pilot, lambda: len(app.screen.query(Toast)) == 3)
        await pilot.pause()
        footer = m.query_one(KeyFooter)
        for toast in app.screen.query(Toast):
            assert toast.region.bottom <= m.status_line.region.y, toast.region
        assert m.status_line.region.bottom <= footer.region.y


# --- page URLs ------------------------------------------------------------------------------

URLS = [("host page", "http://127.0.0.1:8765/host#token=HOSTTOKEN-123"),
        ("stream overlay", "http://127.0.0.1:8765/overlay#token=OVERLAYTOKEN-456")]


async def test_ctrl_u_shows_the_page_urls_and_c_copies_them(queue):
    app = make_app(queue, page_urls=URLS)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+u")
        await wait_for(pilot, lambda: isinstance(app.screen, UrlsScreen))
        text = app.screen.query_one("#urls-text").render().plain
        assert URLS[0][1] in text and URLS[1][1] in text
        await pilot.press("c")
        assert URLS[0][1] in app.clipboard and URLS[1][1] in app.clipboard
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, UrlsScreen))
        await pilot.press("ctrl+p")  # and from the command palette
        await pilot.pause()
        await pilot.press(*"Page URLs", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, UrlsScreen))


def test_page_urls_carry_the_tokens_and_the_command_as_typed(monkeypatch):
    monkeypatch.setenv("TOWNHALL_HOST_TOKEN", "h-tok")
    monkeypatch.setenv("TOWNHALL_OVERLAY_TOKEN", "o-tok")
    monkeypatch.delenv("TOWNHALL_MODERATOR_TOKEN", raising=False)
    urls = dict(page_urls(Config(), 9999, command=".venv/bin/townhall"))
    assert urls["host page (the host's browser)"] == "http://127.0.0.1:9999/host#token=h-tok"
    assert urls["stream overlay (OBS browser source)"].endswith("/overlay#token=o-tok")
    assert urls["host in a terminal"] == (".venv/bin/townhall host ws://127.0.0.1:9999/ws "
                                          "--token h-tok")
    assert "--token" not in urls["another moderator"]  # no moderator token: none shown
    assert invoked_as(".venv/bin/townhall") == ".venv/bin/townhall"
    assert invoked_as("/x/townhall/__main__.py").endswith(" -m townhall")


# --- the People view ------------------------------------------------------------------------

async def test_people_view_lists_bans_and_links_and_unbans_links_unlinks(queue):
    await queue.submit(incoming(1, author="Troll", author_id="UCtroll"))
    await queue.submit(incoming(2, author="Ana", author_id="UCana"))
    await queue.apply(Command(op="ban", question=1), "ana")
    app = make_app(queue)
    async with app.run_test(size=(100, 30)) as pilot:
        m = await loaded(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PeopleScreen))
        people: PeopleScreen = app.screen  # type: ignore[assignment]
        await wait_for(pilot, lambda: bool(people.rows))
        assert [(kind, ident) for kind, ident, _ in people.rows] == [("ban", "youtube:UCtroll")]
        assert "Troll" in people.rows[0][2].plain  # who the ban is about
        await pilot.press("u")  # the selected ban
        await wait_for(pilot, lambda: not queue.bans)
        await wait_for(pilot, lambda: not people.rows)
        await pilot.press("l")
        await wait_for(pilot, lambda: not isinstance(app.screen, PeopleScreen))
        await pilot.press(*"youtube:UCana, email:ana@example.org", "enter")
        await wait_for(pilot, lambda: len(queue.links) == 2)
        await wait_for(pilot, lambda: len(people.rows) == 2)
        assert {kind for kind, _, _ in people.rows} == {"link"}
        await pilot.press("k")  # unlink the selected identity
        await wait_for(pilot, lambda: len(queue.links) < 2)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is m)


async def test_the_palette_lifts_a_ban_from_the_main_screen(queue):
    await queue.submit(incoming(1, author="Troll", author_id="UCtroll"))
    await queue.apply(Command(op="ban", question=1), "ana")
    app = make_app(queue)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"lift the ban", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PeopleScreen) or bool(
            app.screen.query("#prompt-input")))
        await wait_for(pilot, lambda: not queue.bans or bool(app.screen.query("#prompt-input")))
        if queue.bans:  # no ban row selected yet: the prompt asks which identity
            app.screen.query_one("#prompt-input").value = "youtube:UCtroll"  # type: ignore[attr-defined]
            await pilot.press("enter")
        await wait_for(pilot, lambda: not queue.bans)


class NoRulesClient:
    """A client that cannot tell the ban list (as a remote one cannot)."""

    def __init__(self, inner: LocalClient) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "identity_rules":
            raise AttributeError(name)
        return getattr(self._inner, name)


async def test_remote_people_view_says_the_list_is_unavailable_but_unban_works(queue):
    await queue.submit(incoming(1, author="Troll", author_id="UCtroll"))
    await queue.apply(Command(op="ban", question=1), "ana")
    app = build_moderator_app(NoRulesClient(LocalClient(queue, actor="ana")),  # type: ignore[arg-type]
                              clock=fixed_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PeopleScreen))
        note = app.screen.query_one("#people-note").render().plain
        assert "not available to a remote moderator" in note.replace("\n", " ")
        await pilot.press("u")
        await wait_for(pilot, lambda: not isinstance(app.screen, PeopleScreen))
        app.screen.query_one("Input").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"youtube:UCtroll", "enter")
        await wait_for(pilot, lambda: not queue.bans)
    assert NOT_AVAILABLE.startswith("The ban list")


# --- manual questions and the moderator's name -----------------------------------------------

async def test_new_question_asks_who_asked_and_defaults_to_the_room(queue):
    app = make_app(queue)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("n", *"From the floor?", "enter")
        await wait_for(pilot, lambda: queue.get(1) is not None)
        await pilot.press("n", *"And from the phone?", "tab", *"Grace", "enter")
        await wait_for(pilot, lambda: queue.get(2) is not None)
    assert queue.get(1).author.name == "From the room"
    assert queue.get(2).author.name == "Grace"
    assert queue.history(1)[0].actor == "ana"  # the moderator is in the audit log, not the asker


def test_the_moderator_name_comes_from_the_flag_or_the_config_never_the_os_user():
    config = msgspec.structs.replace(Config(), tui=TuiConfig(name="Ana"))
    assert moderator_name(config) == "Ana"
    assert moderator_name(config, "Jan") == "Jan"
    assert moderator_name(Config()) == "moderator"


# --- quitting -------------------------------------------------------------------------------

async def test_ctrl_q_asks_while_others_rely_on_this_process(queue):
    warnings = ["2 pages or moderators connected"]
    app = make_app(queue, stop_warnings=lambda: warnings)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmPrompt))
        assert "2 pages or moderators connected" in app.screen.message  # type: ignore[attr-defined]
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmPrompt))
        assert app.is_running
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmPrompt))
        await pilot.press("ctrl+q")  # ctrl+q again confirms (the tmux smoke run answers y)
        await wait_for(pilot, lambda: not app.is_running)


async def test_ctrl_q_quits_at_once_when_nothing_else_depends_on_it(queue):
    app = make_app(queue, stop_warnings=lambda: [])
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)


class FakeSocket:
    def __init__(self, closed: bool) -> None:
        self.closed = closed


def test_stop_warnings_count_connections_and_live_sources():
    h = HealthRegistry()
    h.set("server", "live")
    h.set("zoom", "live")
    h.set("youtube", "backoff", "HTTP 500")
    runtime = SimpleNamespace(app={SESSIONS: {FakeSocket(False), FakeSocket(True)}}, health=h)
    assert stop_warnings(runtime) == ["1 page or moderator connected", "zoom live"]  # type: ignore[arg-type]
    runtime.app[SESSIONS].clear()
    h.set("zoom", "stopped")
    assert stop_warnings(runtime) == []  # type: ignore[arg-type]


# --- the screen -----------------------------------------------------------------------------

def question(**kw: Any) -> Question:
    fields: dict[str, Any] = dict(id=7, source="zoom", external_id="z7",
                                  author=Author(name="Grace", id="g"), text="How is it funded?",
                                  sent_at="", received_at="2022-11-10T14:00:00.000Z")
    fields.update(kw)
    return Question(**fields)


def row(q: Question, width: int) -> str:
    return "".join(s.text for s in row_segments(q, width, NOW, NOW - 60, Style(), Style(),
                                                Style()))


def test_tags_show_as_tags():
    assert marks_text(question(tags=("Funding", "Annual plan"))) == "#Funding #Annual plan"


@pytest.mark.parametrize("width", [80, 110, 200])
def test_the_marks_never_cut_the_assignee_or_live(width):
    q = question(status=Status.LIVE, starred=True, assignee="Maggie", flags=("private",),
                 tags=("Funding", "Annual plan", "Trust & Safety"))
    text = row(q, width)
    assert "PRIV" in text and " LIVE " in text and "→Maggie" in text
    assert len(text) == width


def test_the_dismissed_reason_and_the_duplicate_hint_are_in_the_row():
    dismissed = question(status=Status.DISMISSED, dismiss_reason="off_topic")
    assert "off topic" in row(dismissed, 80)
    duplicate = question(similar=(Hint(3, 0.91),))
    assert "≈#3" in row(duplicate, 80)


def test_at_80_columns_the_question_gets_the_room():
    cols = columns_for(79)  # 80 less the scrollbar
    assert 79 - cols.fixed >= 35


def test_help_never_wraps_mid_word():
    for width in (60, 74, 120):
        text = help_content(None, width).plain
        assert all(len(line) <= max(width, 60) for line in text.splitlines())
        flat = " ".join(text.split())
        for spec in ALL_KEYS:
            assert " ".join(spec.description.split()) in flat, spec.id
            assert spec.id in text
        assert "onerestore" not in flat


async def test_80x24_tabs_fit_times_are_local_and_relative_footer_follows_the_view(queue):
    for i in range(1, 4):
        await queue.submit(incoming(i, text=f"Question {i}?", author=f"P{i}"))
    app = make_app(queue, clock=system_clock)  # received now: "just now", never "in the future"
    async with app.run_test(size=(80, 24)) as pilot:
        m = await loaded(pilot)
        assert len(m.tabs_plain) <= 80 and "6 All" in m.tabs_plain
        await wait_for(pilot, lambda: "Received" in m.detail.plain)
        received = m.detail.plain.split("Received: ", 1)[1].split("\n", 1)[0]
        assert re.fullmatch(r"\d\d:\d\d \((just now|\d+ s ago)\)", received), received
        footer = m.query_one(KeyFooter)
        await wait_for(pilot, lambda: "Approve" in [d for _, d in footer.shown])
        await pilot.press("2")
        await wait_for(pilot, lambda: "Next" in [d for _, d in footer.shown])
        assert "Approve" not in [d for _, d in footer.shown]
        await pilot.press("5")
        await wait_for(pilot, lambda: "Restore" in [d for _, d in footer.shown])


async def test_a_conflict_says_who_changed_the_question(queue):
    await queue.submit(incoming(1))
    app = make_app(queue)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        m = await loaded(pilot)
        stale = m.model.questions[1]
        await queue.apply(Command(op="star", question=1), "jan")
        m.send("approve", stale)
        await wait_for(pilot, lambda: any("changed by jan" in n.message
                                          for n in app._notifications))
        assert queue.get(1).status is Status.NEW


async def test_without_a_name_the_app_asks_for_one_and_the_audit_log_uses_it(queue):
    await queue.submit(incoming(1, "Will the slides be shared?"))
    app = make_app(queue)
    app.client.actor = "moderator"
    app.ask_name = True
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt")
        await pilot.press(*"Ana", "enter")
        await loaded(pilot)
        await pilot.press("s")  # star the question under the cursor
        await wait_for(pilot, lambda: queue.get(1).starred)
    assert app.client.actor == "Ana"
    assert queue.store.last_command("Ana").op == "star"
