"""Hostile text (docs/platforms.md, "Untrusted text"): never crashes the UI, never runs an
action, shown literally."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.style import Style
from textual.widgets import Input
from .tui_helpers import loaded, make_app, wait_for

from aggregator.model import Author, Question
from tests.conftest import incoming
from tui.screens.modals import ChoicePrompt, ConfirmPrompt
from tui.widgets.rows import row_segments

HOSTILE = [
    "[/]", "[/", "[@click=app.quit]x[/]", "[$accent]x", "[link=http://x]x[/link]",
    "ends with a backslash\\", "oops [/] closing", "[bold red]x", "[00]", "[Bold]x",
    "\x1b]0;evil title\x07 then \x1b[2J clear", "abc\u202eevil override", "漢字テスト 🎉👩‍👩‍👧",
    "x" * 10_000, "line one\nline two\tand a tab", "[b]$author[/b]",
]
# What the queue stores for each (it cleans controls and bidi at ingestion).
VISIBLE = {"\x1b]0;evil title\x07 then \x1b[2J clear": "]0;evil title then [2J clear",
           "abc\u202eevil override": "abcevil override"}


async def test_hostile_text_everywhere_is_shown_literally(queue):
    for i, text in enumerate(HOSTILE, 1):
        await queue.submit(incoming(i, text=text, author=text[:200] or "?",
                                    author_id=f"a{i}", source="email",
                                    meta={"subject": text[:300], "raw_body": text}))
    await queue.submit(incoming(99, text="", author=""))
    app = make_app(queue, answerers=["[@click=app.quit]x[/]", "[/"])
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        m = await loaded(pilot)
        assert len(m.model.view) == len(HOSTILE) + 1
        for qid, text in enumerate(HOSTILE, 1):
            assert m.queue_list.select(qid)
            m.refresh_detail()
            await pilot.pause()
            shown = VISIBLE.get(text, text)
            if len(shown) < 200:
                assert shown.strip() in m.detail.plain, text
            line = m.queue_list.render_line(
                m.queue_list.cursor_row - int(m.queue_list.scroll_offset.y) + 1)
            assert "\x1b" not in line.text and "\u202e" not in line.text
            if len(shown) < 30 and "\n" not in shown:
                assert shown.strip() in line.text, (text, line.text)
        await pilot.press("v")  # the raw body, also literal
        await pilot.pause()
        # clicking on every visible row runs no action hidden in the text
        for y in range(1, 20):
            await pilot.click("#queue", offset=(40, y))
        # modals showing user text: assign (answerers from config), ban confirmation, edit
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePrompt))
        await pilot.press("escape")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmPrompt))
        await pilot.press("n")
        await pilot.press("t")
        await wait_for(pilot, lambda: bool(app.screen.query(Input)))
        await pilot.press("escape")
        await pilot.pause()
        app.export_screenshot()
        for view in "123456":
            await pilot.press(view)
            await pilot.pause()
        assert app.is_running
        assert app.return_code is None


@pytest.mark.parametrize("text", HOSTILE)
def test_row_never_carries_controls_and_fits_its_width(text):
    q = Question(id=7, source="youtube", external_id="e", author=Author(name=text, id="x"),
                 text=text, received_at="2022-11-10T14:00:00.000Z", tags=(text[:40],))
    for width in (20, 80, 200):
        segments = row_segments(q, width, 0.0, 0.0, Style(), Style(), Style())
        rendered = "".join(s.text for s in segments)
        assert "\x1b" not in rendered and "\x07" not in rendered and "\u202e" not in rendered
        assert "\n" not in rendered
        assert cell_len(rendered) == width
