"""Pilot tests: every moderator key and modal against a real queue on a temporary store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from .tui_helpers import loaded, make_app, wait_for

from aggregator.commands import Command
from aggregator.config import ConfigError
from aggregator.model import Status
from tests.conftest import incoming
from tui.keymap import BINDING_IDS
from tui.screens.help import HelpScreen
from tui.screens.modals import ChoicePrompt, ConfirmPrompt
from tui.widgets.key_footer import KeyFooter


async def seed(queue, n: int = 3, **kw) -> None:
    for i in range(1, n + 1):
        await queue.submit(incoming(i, text=f"Question number {i}?", author=f"Person {i}", **kw))


def status_of(queue, qid: int) -> Status:
    return queue.get(qid).status


def ui_status(m, qid: int) -> Status:
    """The status the screen shows (it lags the queue until the change is committed)."""
    return m.model.questions[qid].status


async def modal_open(pilot, kind) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind))


async def test_approve_moves_to_host_list_and_counts_follow(queue):
    await seed(queue)
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        assert m.model.counts()["incoming"] == 3
        assert m.queue_list.cursor_id == 3  # newest first
        await pilot.press("a")
        await wait_for(pilot, lambda: m.model.counts()["host"] == 1)
        assert status_of(queue, 3) is Status.QUEUED
        assert "1 Incoming (2)" in m.tabs_plain and "2 Host list (1)" in m.tabs_plain
        assert m.queue_list.cursor_id == 2  # the next one took the row


async def test_dismiss_from_list_and_free_text(queue):
    await seed(queue)
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        await pilot.press("d")
        await modal_open(pilot, ChoicePrompt)
        await pilot.press("enter")
        await wait_for(pilot, lambda: status_of(queue, 3) is Status.DISMISSED)
        assert queue.get(3).dismiss_reason == "off_topic"
        await pilot.press("d")
        await modal_open(pilot, ChoicePrompt)
        await pilot.press("tab", *"asked twice", "enter")
        await wait_for(pilot, lambda: status_of(queue, 2) is Status.DISMISSED)
        assert queue.get(2).dismiss_reason == "asked twice"
        await wait_for(pilot, lambda: m.model.counts()["dismissed"] == 2)
        # escape cancels: nothing happens
        await pilot.press("d")
        await modal_open(pilot, ChoicePrompt)
        await pilot.press("escape")
        await pilot.pause()
        assert status_of(queue, 1) is Status.NEW
        # r restores in the Dismissed view
        await pilot.press("5")
        await pilot.pause()
        assert m.model.current == "dismissed"
        await pilot.press("r")
        await wait_for(pilot, lambda: m.model.counts()["dismissed"] == 1)


async def test_host_list_keys_live_answered_follow_up_next_reorder(queue):
    await seed(queue, 4)
    for qid in (1, 2, 3, 4):
        await queue.apply(Command(op="approve", question=qid), "ana")
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        await pilot.press("2")
        await pilot.pause()
        assert m.queue_list.cursor_id == 1  # rank order
        await pilot.press("shift+down")
        await wait_for(pilot, lambda: m.model.questions[1].rank == 1)
        assert m.queue_list.cursor_id == 1  # the cursor follows its question
        await pilot.press("shift+up")
        await wait_for(pilot, lambda: m.model.questions[1].rank == 0)
        await pilot.press("l")
        await wait_for(pilot, lambda: ui_status(m, 1) is Status.LIVE)
        await pilot.press("x")
        await wait_for(pilot, lambda: ui_status(m, 1) is Status.ANSWERED)
        await pilot.press("ctrl+n")  # next: the top of the host list goes live
        await wait_for(pilot, lambda: ui_status(m, 2) is Status.LIVE)
        await pilot.press("home")
        await pilot.pause()
        assert m.queue_list.cursor_id == 2
        await pilot.press("r")  # requeue the live one
        await wait_for(pilot, lambda: ui_status(m, 2) is Status.QUEUED)
        await pilot.press("down", "w")
        await wait_for(pilot, lambda: ui_status(m, 3) is Status.FOLLOW_UP)
        await pilot.press("4")
        await wait_for(pilot, lambda: m.queue_list.cursor_id == 3)
        await pilot.press("r")  # reopen
        await wait_for(pilot, lambda: ui_status(m, 3) is Status.QUEUED)
        await pilot.press("3")
        await pilot.pause()
        assert m.model.counts()["answered"] == 1 and m.queue_list.cursor_id == 1


async def test_star_edit_tag_note_assign(queue):
    await seed(queue, 1)
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: m.model.questions[1].starred)
        await pilot.press("s")
        await wait_for(pilot, lambda: not m.model.questions[1].starred)

        await pilot.press("e")
        await wait_for(pilot, lambda: bool(app.screen.query(TextArea)))
        app.screen.query_one(TextArea).text = "Better wording?"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: m.model.questions[1].edited_text == "Better wording?")
        assert queue.get(1).text == "Question number 1?"

        await pilot.press("t")
        await wait_for(pilot, lambda: bool(app.screen.query(Input)))
        app.screen.query_one(Input).value = "budget, grants ,"
        await pilot.press("enter")
        await wait_for(pilot, lambda: m.model.questions[1].tags == ("budget", "grants"))

        await pilot.press("c")
        await wait_for(pilot, lambda: bool(app.screen.query(TextArea)))
        app.screen.query_one(TextArea).text = "Answered: yes, in Q3."
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: m.model.questions[1].note == "Answered: yes, in Q3.")

        await pilot.press("o")
        await modal_open(pilot, ChoicePrompt)
        await pilot.press("down", "enter")  # answerers offered: Maggie, Jan
        await wait_for(pilot, lambda: m.model.questions[1].assignee == "Jan")
        await pilot.press("o")
        await modal_open(pilot, ChoicePrompt)
        await pilot.press("tab", *"Kaarel", "enter")
        await wait_for(pilot, lambda: m.model.questions[1].assignee == "Kaarel")


async def test_merge_offers_similar_first(queue):
    await queue.submit(incoming(1, text="How is the budget decided?"))
    await queue.submit(incoming(2, text="Who decides the budget?"))  # the queue finds #1
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        await wait_for(pilot, lambda: "Similar questions" in m.detail.plain)
        assert re.search(r"#1 +\d+% How is the budget decided", m.detail.plain)
        await pilot.press("m")
        await modal_open(pilot, ChoicePrompt)
        assert app.screen.choices[0][0] == "1"
        await pilot.press("enter")
        await wait_for(pilot, lambda: status_of(queue, 2) is Status.MERGED)
        assert queue.get(2).merged_into == 1


async def test_merge_by_typed_number_and_bad_number(queue):
    await seed(queue, 2)
    app = make_app(queue)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await loaded(pilot)
        await pilot.press("m")
        await modal_open(pilot, ChoicePrompt)
        await pilot.press(*"#x", "enter")
        await wait_for(pilot, lambda: any("Not a question number" in n.message
                                          for n in app._notifications))
        await pilot.press("m")
        await modal_open(pilot, ChoicePrompt)
        await pilot.press(*"#1", "enter")
        await wait_for(pilot, lambda: status_of(queue, 2) is Status.MERGED)


async def test_ban_confirms_with_count_of_open_questions(queue):
    await queue.submit(incoming(1, author="Troll", author_id="UC9"))
    await queue.submit(incoming(2, author="Troll", author_id="UC9"))
    await queue.submit(incoming(3, author="Ana"))
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        await pilot.press("down")  # #2, by Troll
        await pilot.pause()
        assert m.queue_list.cursor_id == 2
        await pilot.press("b")
        await modal_open(pilot, ConfirmPrompt)
        assert "affects 2 open questions" in app.screen.message
        await pilot.press("n")
        await pilot.pause()
        assert status_of(queue, 2) is Status.NEW
        await pilot.press("b")
        await modal_open(pilot, ConfirmPrompt)
        await pilot.press("y")
        await wait_for(pilot, lambda: status_of(queue, 1) is Status.DISMISSED)
        assert queue.get(2).dismiss_reason == "banned"
        assert status_of(queue, 3) is Status.NEW
        await pilot.press("u")  # undo the ban
        await wait_for(pilot, lambda: status_of(queue, 1) is Status.NEW)


async def test_new_question_and_undo(queue):
    await seed(queue, 1)
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: bool(app.screen.query("#new-text")))
        await pilot.press(*"From the floor?", "tab", *"Jo", "enter")
        await wait_for(pilot, lambda: len(queue) == 2)
        new = queue.get(2)
        assert new.source == "manual" and new.text == "From the floor?"
        assert new.author.name == "Jo"
        await wait_for(pilot, lambda: m.model.counts()["incoming"] == 2)
        assert m.queue_list.cursor_id == 1  # an arrival never moves the cursor
        await pilot.press("g", "a")
        await wait_for(pilot, lambda: status_of(queue, 2) is Status.QUEUED)
        await pilot.press("u")
        await wait_for(pilot, lambda: status_of(queue, 2) is Status.NEW)
        await wait_for(pilot, lambda: m.model.counts()["host"] == 0)


async def test_search_narrows_and_escape_clears(queue):
    await seed(queue, 3)
    await queue.submit(incoming(9, text="What about the zebra crossing?"))
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        await pilot.press("slash")
        await wait_for(pilot, lambda: m.search_bar.has_focus)
        await pilot.press(*"zebra", "enter")
        await wait_for(pilot, lambda: len(m.model.view) == 1)
        assert "search: zebra (1)" in m.tabs_plain
        assert m.queue_list.cursor_id == 4
        await queue.submit(incoming(10, text="zebra again"))  # arrivals respect the search
        await wait_for(pilot, lambda: len(m.model.view) == 2)
        assert m.queue_list.has_focus and not m.search_bar.display
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(m.model.view) == 5)
        await pilot.press("slash")  # escape in the bar closes it, the search stays
        await wait_for(pilot, lambda: m.search_bar.has_focus)
        await pilot.press("escape")
        await wait_for(pilot, lambda: m.queue_list.has_focus)


async def test_views_counts_and_likely_first(queue):
    await queue.submit(incoming(1, text="hello all"))
    await queue.submit(incoming(2, text="Why is the sky blue?"))
    await queue.submit(incoming(3, text="lol"))
    await queue.submit(incoming(4, text="x"))
    await queue.apply(Command(op="dismiss", question=4, args={"reason": "spam"}), "ana")
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        assert m.model.counts() == {"incoming": 3, "host": 0, "answered": 0, "follow_up": 0,
                                    "dismissed": 1, "all": 4}
        for key, view in zip("123456", ["incoming", "host", "answered", "follow_up",
                                        "dismissed", "all"]):
            await pilot.press(key)
            await pilot.pause()
            assert m.model.current == view
        await pilot.press("1", "f")
        await pilot.pause()
        assert "likely first" in m.tabs_plain
        likely = {q.id for q in queue.all() if q.likely_question >= 0.5 and q.status == "new"}
        first = m.model.view.ids(0, len(likely))
        assert set(first) == likely


async def test_raw_body_toggle_and_subject(queue):
    await queue.submit(incoming(1, source="email", text="Cleaned question?",
                                meta={"subject": "Question for Maggie",
                                      "raw_body": "Cleaned question?\n\n> quoted reply"}))
    app = make_app(queue)
    async with app.run_test(size=(120, 40)) as pilot:
        m = await loaded(pilot)
        await wait_for(pilot, lambda: "Subject: Question for Maggie" in m.detail.plain)
        assert "> quoted reply" not in m.detail.plain
        await pilot.press("v")
        await pilot.pause()
        assert "> quoted reply" in m.detail.plain
        await wait_for(pilot, lambda: "received" in m.detail.plain)  # history loaded


async def test_help_lists_every_binding_id(queue):
    app = make_app(queue, keymap={"approve": "y"})
    async with app.run_test(size=(120, 60)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await modal_open(pilot, HelpScreen)
        text = app.screen.query_one("#help-text").render().plain
        for binding_id in BINDING_IDS:
            assert binding_id in text
        assert "y " in text  # the remapped key is what help shows
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_keymap_remaps_and_unknown_id_is_a_clear_error(queue):
    await seed(queue, 1)
    with pytest.raises(ConfigError) as err:
        make_app(queue, keymap={"aprove": "y"})
    assert "tui.keymap.aprove" in str(err.value) and "approve" in str(err.value)
    with pytest.raises(ConfigError):
        make_app(queue, keymap={"approve": ""})
    app = make_app(queue, keymap={"approve": "y", "cursor_down": "ctrl+j"})
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("a")
        await pilot.pause(0.1)
        assert status_of(queue, 1) is Status.NEW
        await pilot.press("y")
        await wait_for(pilot, lambda: status_of(queue, 1) is Status.QUEUED)


async def test_command_palette_runs_an_action(queue):
    await seed(queue, 1)
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Approve to the host", "enter")
        await wait_for(pilot, lambda: status_of(queue, 1) is Status.QUEUED)


async def test_refused_command_is_a_notification_not_a_crash(queue):
    await seed(queue, 1)
    app = make_app(queue)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await loaded(pilot)
        await pilot.press("x")  # a new question cannot be answered
        await wait_for(pilot, lambda: any("answered" in n.message for n in app._notifications))
        assert app.is_running


async def test_export_dialog_writes_json(queue, tmp_path: Path):
    await seed(queue, 2)
    target = tmp_path / "out.json"
    app = make_app(queue)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+e")
        await modal_open(pilot, ChoicePrompt)
        await pilot.press("enter")  # json
        await wait_for(pilot, lambda: bool(app.screen.query(Input)))
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
        await wait_for(pilot, lambda: any("wrote 2 questions" in n.message
                                          for n in app._notifications))
    assert len(json.loads(target.read_text())["questions"]) == 2


def test_readme_documents_every_binding_id():
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Moderator keys", 1)[1].split("\n## ", 1)[0]
    for binding_id in BINDING_IDS:
        assert f"`{binding_id}`" in section, binding_id


def test_run_refuses_an_unknown_keymap_id(tmp_path):
    from tests.conftest import townhall

    config = tmp_path / "townhall.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "db"}"\n[tui]\nkeymap = {{ aprove = "y" }}\n')
    result = townhall("run", "--config", str(config), timeout=30)
    assert result.returncode == 2
    assert "tui.keymap.aprove" in result.stderr and "unknown binding id" in result.stderr
    assert "approve" in result.stderr


async def test_the_footer_follows_focus_without_building_widgets_and_a_click_presses(queue):
    """The footer is one line of text rebuilt on focus changes (widgets/key_footer.py): it
    shows the keys that work where the focus is, and clicking one presses it."""
    await seed(queue, 3)
    app = make_app(queue)
    async with app.run_test(size=(160, 30)) as pilot:
        m = await loaded(pilot)
        footer = m.query_one(KeyFooter)
        await wait_for(pilot, lambda: "Approve" in str(footer.content))
        in_list = list(footer.shown)
        for _ in range(5):
            await pilot.press("slash")
            await wait_for(pilot, lambda: m.search_bar.has_focus)
            await wait_for(pilot, lambda: footer.shown != in_list)
            await pilot.press("escape")
            await wait_for(pilot, lambda: m.queue_list.has_focus)
            await wait_for(pilot, lambda: footer.shown == in_list)
        assert not footer.children
        target = m.queue_list.cursor_id
        column = str(footer.content).index(" Approve") - 1  # the key, just before its name
        await pilot.click(KeyFooter, offset=(column, 0))
        await wait_for(pilot, lambda: m.model.questions[target].status is Status.QUEUED)
