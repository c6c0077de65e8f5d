"""The page URLs (host page, stream overlay, terminal commands), shown again at any time.

Why: they were printed before the TUI started (then hidden by the alternate screen) and shown
once as a 10-second notice, so a moderator who lost them had to quit the call's server to see
them again. The application passes them in (townhall/run.py, demo_tui.py, connect.py).

Copying: `c` puts them all on the clipboard (the terminal's OSC 52, where it supports it), and
the text can be selected with the mouse (shift+drag in most terminals).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

NO_URLS = ("No page URLs were given to this console. The server prints them when it starts "
           "(`townhall serve`), and `townhall tokens` prints them with fresh tokens.")


def urls_text(urls: Sequence[tuple[str, str]]) -> str:
    """"label\n  url\n" per page, as plain text (what `c` copies)."""
    return "\n".join(f"{label}:\n  {url}" for label, url in urls)


class UrlsScreen(ModalScreen[None]):
    """Every page URL with its token, whole (never cut: a cut URL is a broken one)."""

    BINDINGS = [Binding("escape,q", "close", "Close", id="urls_close"),
                Binding("c", "copy", "Copy all", id="urls_copy")]

    def __init__(self, urls: Sequence[tuple[str, str]], note: str | None = None) -> None:
        super().__init__()
        self.urls = list(urls)
        self.note = note

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="urls-box"):
            yield Label(Content.assemble(("Page URLs", "bold"),
                                         ("  (with their tokens: share them only with the host "
                                          "and whoever runs the stream)", "dim")),
                        markup=False)
            parts: list[object] = []
            for label, url in self.urls:
                parts += ["\n", (label, "bold $accent"), "\n", url, "\n"]
            if not self.urls:
                parts += ["\n", NO_URLS, "\n"]
            if self.note:
                parts += ["\n", (self.note, "italic")]
            yield Static(Content.assemble(*parts), markup=False, id="urls-text")  # type: ignore[arg-type]
            yield Label("c copies them all · select with the mouse (shift+drag) · escape closes",
                        classes="prompt-hint")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        if not self.urls:
            self.notify("Nothing to copy.", markup=False)
            return
        self.app.copy_to_clipboard(urls_text(self.urls))
        self.notify("Copied (if your terminal passes the clipboard through).", markup=False)
