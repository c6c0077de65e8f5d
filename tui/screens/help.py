"""`?`: every key with its binding id, as remapped by `[tui] keymap`.

Laid out for the box's width with whole words only: a description that does not fit wraps at
a space under its own column (with Rich's own wrapping, "requeue the live one" ran into the id
column as "live / onerestore"), and the binding id moves to its own line when there is no room.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ..keymap import ALL_KEYS, display_keys, effective_keys

GAP = 2


def help_content(keymap: Mapping[str, str] | None, width: int = 100) -> Content:
    keys = effective_keys(keymap)
    key_w = max(len(display_keys(keys[spec.id])) for spec in ALL_KEYS) + GAP
    id_w = max(len(spec.id) for spec in ALL_KEYS)
    desc_w = max(len(spec.description) for spec in ALL_KEYS) + GAP
    ids_beside = key_w + desc_w + id_w <= width
    text_w = max((desc_w - GAP) if ids_beside else width - key_w, 20)
    parts: list[object] = [("Moderator keys", "bold"), "\n",
                           ("remap: [tui] keymap = { id = \"key\" }", "dim"), "\n\n"]
    indent = " " * key_w
    for spec in ALL_KEYS:
        lines = textwrap.wrap(spec.description, text_w, break_long_words=False,
                              break_on_hyphens=False) or [""]
        parts.append((display_keys(keys[spec.id]).ljust(key_w), "bold $accent"))
        for i, line in enumerate(lines):
            if i:
                parts.append(indent)
            if i == 0 and ids_beside:
                parts += [line.ljust(desc_w), (spec.id, "dim")]
            else:
                parts.append(line)
            parts.append("\n")
        if not ids_beside:
            parts += [indent, (f"id: {spec.id}", "dim"), "\n"]
    parts += ["\n", ("escape or ? closes this help", "dim")]
    return Content.assemble(*parts)  # type: ignore[arg-type]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help_close")]

    def __init__(self, keymap: Mapping[str, str] | None) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_content(self.keymap), markup=False, id="help-text")

    def on_resize(self) -> None:
        box = self.query_one("#help-box")
        width = box.scrollable_content_region.width - 1  # room for the scrollbar
        if width > 0:
            self.query_one("#help-text", Static).update(help_content(self.keymap, width))

    def action_close(self) -> None:
        self.dismiss(None)
