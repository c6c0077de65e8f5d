"""Every dialog keeps every keystroke in order, also when keys arrive in one burst.

The keys are posted with no pause (a fast typist, a paste, tmux send-keys); Pilot.press would
wait for the app to go idle after each key and hide the bug this guards against.
"""

from __future__ import annotations

from aggregator.model import Status
from tests.conftest import incoming
from tui.key_order import OrderedKeys

from .tui_helpers import burst, loaded, make_app, wait_for


async def test_text_typed_right_after_tab_lands_in_the_next_field(queue):
    await queue.submit(incoming(1, text="First?"))
    app = make_app(queue)
    assert isinstance(app, OrderedKeys)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        # "n" opens the dialog: the text right behind it must reach the dialog, not run as
        # moderator keys ("f" toggles likely-first, "o" assigns, "r" restores ...).
        burst(app, "n", "From the floor?", "tab", "Jo Ruiz", "enter")
        await wait_for(pilot, lambda: len(queue) == 2)
        new = queue.get(2)
        assert new.text == "From the floor?"
        assert new.author.name == "Jo Ruiz"
        assert not m.model.likely_first
        assert app.screen is m


async def test_free_text_reason_typed_in_one_burst(queue):
    await queue.submit(incoming(1, text="Off topic?"))
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        burst(app, "d", "tab", "asked twice", "enter")
        await wait_for(pilot, lambda: queue.get(1).status is Status.DISMISSED)
        assert queue.get(1).dismiss_reason == "asked twice"


async def test_search_typed_in_one_burst_then_a_key_on_the_result(queue):
    for i in range(1, 13):
        await queue.submit(incoming(i, text=f"Question {i}?", author=f"P{i}"))
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        m = await loaded(pilot)
        burst(app, "slash", "#1", "enter", "a")
        await wait_for(pilot, lambda: queue.get(1).status is Status.QUEUED)
        assert all(queue.get(i).status is Status.NEW for i in range(2, 13))
        assert m.model.query == "#1"
