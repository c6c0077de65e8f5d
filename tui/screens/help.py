"""`?`: every key with its binding id, as remapped by `[tui] keymap`."""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ..keymap import ALL_KEYS, display_keys, effective_keys


def help_content(keymap: Mapping[str, str] | None) -> Content:
    keys = effective_keys(keymap)
    width = max(len(display_keys(keys[spec.id])) for spec in ALL_KEYS) + 2
    parts: list[object] = [("Moderator keys", "bold"), "   (remap with [tui] keymap = "
                           "{ binding_id = \"key\" } in the config)\n\n"]
    for spec in ALL_KEYS:
        parts += [(display_keys(keys[spec.id]).ljust(width), "bold $accent"),
                  spec.description.ljust(60), (spec.id, "dim"), "\n"]
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

    def action_close(self) -> None:
        self.dismiss(None)
