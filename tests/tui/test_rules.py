"""The TUI applies the queue's rules rather than its own copies, and asks before a private
message goes to the host: ban preview, export on a remote moderator, private messages, `l` on a
new question, `#N` search."""

from __future__ import annotations

import re
from typing import Any

from aggregator.client import LocalClient
from aggregator.commands import Command, CommandError
from aggregator.model import Question, Status
from tests.conftest import incoming
from tui.actions import CONFIRM_PRIVATE, NO_EXPORT_HERE
from tui.app import build_moderator_app
from tui.screens.modals import ConfirmPrompt, PrivatePrompt, TextPrompt
from tui.widgets.rows import marks_text, row_segments

from .tui_helpers import fixed_clock, loaded, make_app, wait_for

PRIVATE_TEXT = ("Maggie, a private note: my account was blocked after the March vote and "
                "nobody answers my mails. Can you look at it?")


class RecordingClient(LocalClient):
    """The real local client, recording each command sent; `refuse` names ops to refuse as the
    queue would (to reach the path where a later step of a two-step key is refused)."""

    def __init__(self, *args: Any, refuse: frozenset[str] = frozenset(), **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.sent: list[tuple[str, int | None, dict[str, Any]]] = []
        self.refuse = refuse

    async def command(self, op: str, question: int | None = None,
                      args: dict[str, Any] | None = None,
                      if_version: int | None = None) -> None:
        self.sent.append((op, question, dict(args or {})))
        if op in self.refuse:
            raise CommandError("invalid", f"{op} refused for the test")
        await super().command(op, question, args, if_version)


class RemoteLikeClient(LocalClient):
    """A client that exports elsewhere, as a remote moderator's does."""

    can_export = False  # type: ignore[assignment]

    async def export(self, fmt: str, path: str) -> str:
        raise AssertionError("the TUI must not call export where it cannot run")


def app_with(client: LocalClient):
    return build_moderator_app(client, clock=fixed_clock, answerers=["Maggie"])


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


# --- the ban preview: the ban's own rule, with linked identities ------------------------

async def test_ban_preview_counts_linked_identities_as_the_ban_changes_them(queue):
    await queue.submit(incoming(1, author="Troll", author_id="UC9"))
    await queue.submit(incoming(2, source="email", author="T. Roll",
                                author_id="troll@example.org", email="troll@example.org"))
    await queue.submit(incoming(3, author="Ana"))
    await queue.apply(Command(op="link", args={"identities": [
        "youtube:UC9", "email:troll@example.org"]}), "ana")
    before = {q.id: q for q in queue.all()}
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        await pilot.press("down", "down")  # #1, by Troll on YouTube
        await wait_for(pilot, lambda: m.queue_list.cursor_id == 1)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmPrompt))
        said = int(re.search(r"affects (\d+) open question", app.screen.message).group(1))
        assert said == 2
        await pilot.press("y")
        await wait_for(pilot, lambda: queue.get(2).status is Status.DISMISSED)
        changed = [q.id for q in queue.all() if q != before[q.id] and q.id in before
                   and (q.status is not before[q.id].status or q.flags != before[q.id].flags)]
        assert len(changed) == said
        assert queue.get(3).status is Status.NEW


async def test_ban_of_an_already_banned_author_is_refused_before_the_dialog(queue):
    await queue.submit(incoming(1, author="Troll", author_id="UC9"))
    await queue.apply(Command(op="ban", question=1), "ana")
    await queue.submit(incoming(2, author="Troll", author_id="UC9"))
    app = make_app(queue)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        m = await loaded(pilot)
        await wait_for(pilot, lambda: 2 in m.model.questions)
        m.action_view("all")
        await pilot.pause()
        await pilot.press("b")
        await wait_for(pilot, lambda: any("already banned" in n for n in notes(app)))
        assert app.screen is m


# --- export on a client that cannot export here -------------------------------------------

async def test_remote_moderator_is_told_about_export_before_any_dialog(queue):
    await queue.submit(incoming(1))
    app = app_with(RemoteLikeClient(queue, actor="ana"))
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        m = await loaded(pilot)
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: NO_EXPORT_HERE in notes(app))
        assert app.screen is m  # no format dialog, no path dialog


# --- private messages ------------------------------------------------------------------

async def private_question(queue) -> Question:
    await queue.submit(incoming(1, source="zoom", author="Grace", text=PRIVATE_TEXT,
                                flags=("private",)))
    return queue.get(1)


async def test_approving_a_private_message_asks_and_shows_the_full_wording(queue):
    await private_question(queue)
    client = RecordingClient(queue, actor="ana")
    app = app_with(client)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, PrivatePrompt))
        assert app.screen.wording == PRIVATE_TEXT  # whole, not clipped
        wording = app.screen.query_one("#private-wording Label")
        assert "nobody answers my mails. Can you look at it?" in str(wording.render())
        # wrapped to the dialog's width, so every word is on screen (a clipped line hid them)
        assert wording.size.height * wording.size.width >= len(PRIVATE_TEXT)
        assert wording.size.height >= 2
        assert client.sent == []  # nothing sent before the moderator answers
        await pilot.press("n")  # cancel
        await pilot.pause()
        assert client.sent == [] and queue.get(1).status is Status.NEW
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, PrivatePrompt))
        await pilot.press("y")
        await wait_for(pilot, lambda: queue.get(1).status is Status.QUEUED)
        assert client.sent == [("approve", 1, CONFIRM_PRIVATE)]


async def test_live_on_a_new_private_message_edits_then_approves_and_goes_live(queue):
    await private_question(queue)
    client = RecordingClient(queue, actor="ana")
    app = app_with(client)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, PrivatePrompt))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt))
        app.screen.query_one("#prompt-text").text = "A participant's account was blocked."
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: queue.get(1).status is Status.LIVE)
        assert [op for op, _, _ in client.sent] == ["edit", "approve", "go_live"]
        assert client.sent[0][2] == {"text": "A participant's account was blocked."}
        assert all(args == CONFIRM_PRIVATE for _, _, args in client.sent[1:])
        assert queue.get(1).edited_text == "A participant's account was blocked."


async def test_a_confirmed_private_message_does_not_ask_again(queue):
    await queue.submit(incoming(1, source="zoom", author="Grace", text=PRIVATE_TEXT,
                                flags=("private", "private_confirmed")))
    client = RecordingClient(queue, actor="ana")
    app = app_with(client)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: queue.get(1).status is Status.QUEUED)
        assert client.sent == [("approve", 1, {})]


def test_the_private_mark_is_whole_and_first_in_the_marks_column():
    from rich.style import Style

    q = Question(id=7, source="zoom", external_id="z7", author=incoming(7).author,
                 text="hello", sent_at="", received_at="", flags=("private",),
                 tags=("Funding", "Annual plan"), assignee="Maggie", starred=True)
    assert marks_text(q).startswith("PRIV ")
    assert "!priv" not in marks_text(q)
    row = "".join(s.text for s in row_segments(q, 120, None, None, Style(), Style(), Style()))
    assert " PRIV " in row
    confirmed = msgspec_replace(q, flags=("private", "private_confirmed"))
    assert marks_text(confirmed).startswith("PRIV✓ ")
    assert "!private_confirmed" not in marks_text(confirmed)


def msgspec_replace(q: Question, **fields: Any) -> Question:
    import msgspec

    return msgspec.structs.replace(q, **fields)


# --- l on a new question -----------------------------------------------------------------

async def test_live_on_a_new_question_approves_and_takes_it_live_in_one_key(queue):
    await queue.submit(incoming(1, text="Urgent: is the vote today?"))
    await queue.submit(incoming(2, text="Already on air?"))
    await queue.apply(Command(op="approve", question=2), "ana")
    await queue.apply(Command(op="go_live", question=2), "ana")
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        assert m.queue_list.cursor_id == 1
        await pilot.press("l")
        await wait_for(pilot, lambda: queue.get(1).status is Status.LIVE)
        assert queue.get(2).status is Status.QUEUED  # the one on air went back to the list


async def test_live_on_a_new_question_says_so_when_going_live_is_refused(queue):
    await queue.submit(incoming(1, text="Urgent?"))
    client = RecordingClient(queue, actor="ana", refuse=frozenset({"go_live"}))
    app = app_with(client)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await loaded(pilot)
        await pilot.press("l")
        await wait_for(pilot, lambda: any("approve done, but go_live" in n
                                          for n in notes(app)))
        assert queue.get(1).status is Status.QUEUED
        assert [op for op, _, _ in client.sent] == ["approve", "go_live"]


# --- #N in search ------------------------------------------------------------------------

async def test_number_search_jumps_to_exactly_that_question(queue):
    for i in range(1, 26):
        await queue.submit(incoming(i, text=f"Question {i}?", author=f"P{i}"))
    await queue.apply(Command(op="approve", question=21), "ana")
    app = make_app(queue)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        m = await loaded(pilot)
        await pilot.press("slash", *"#2", "enter")
        await wait_for(pilot, lambda: m.model.query == "#2")
        assert m.model.view.ids(0, 99) == [2]  # not #20-#25
        assert m.queue_list.cursor_id == 2
        await pilot.press("a")
        await wait_for(pilot, lambda: queue.get(2).status is Status.QUEUED)
        assert all(queue.get(i).status is Status.NEW for i in (20, 22, 23, 24, 25))
        # #21 is on the host list: the jump switches to the view that holds it
        await pilot.press("slash", "ctrl+u", *"#21", "enter")
        await wait_for(pilot, lambda: m.model.current == "host")
        assert m.model.view.ids(0, 99) == [21] and m.queue_list.cursor_id == 21
        await pilot.press("slash", "ctrl+u", *"#99", "enter")
        await wait_for(pilot, lambda: any("no question #99" in n for n in notes(app)))
        assert m.model.query == "#21"  # an unknown number changes nothing
