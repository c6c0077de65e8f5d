"""The footer of keys: one line of text, rebuilt when the active bindings change.

Why not Textual's Footer: it recomposes on every focus change (the search bar, each modal),
creating, styling and mounting a widget per key; under 500 arrivals/s that was ~10 % of the
UI thread's time and a large part of a search's key-to-repaint latency. Textual 8.2's Footer
also leaked every removed key through a `data_bind` watcher (~1.7 MB per search). Here a
change of bindings re-renders one Static; a click on a key (the key, not its description)
still presses it.

A screen may say which keys matter now: a `footer_keys()` method returning (binding id, label
or None) pairs, in order, or None for the usual keys of the focused widget. The main screen uses it so each view's footer shows that view's keys
(approve in Incoming, answered and next on the host list, restore in Dismissed).
"""

from __future__ import annotations

from textual.content import Content
from textual.screen import Screen
from textual.style import Style
from textual.widgets import Static

KEY_STYLE = "bold $footer-key-foreground on $footer-key-background"
DESCRIPTION_STYLE = "$footer-description-foreground on $footer-description-background"


class KeyFooter(Static):
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
        link-style: none;
        link-color: $footer-key-foreground;
        link-background: $footer-background;
        link-style-hover: bold;
        link-background-hover: $block-hover-background;
    }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)
        self.shown: list[tuple[str, str]] = []  # (key as displayed, description)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.call_after_refresh(self.bindings_changed, self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or not screen.is_current:
            return
        shown: list[tuple[str, str]] = []
        keys: list[str] = []
        seen: set[str] = set()
        choose = getattr(screen, "footer_keys", None)
        chosen = choose() if choose is not None else None
        if chosen is not None:
            by_id = {}
            for _node, binding, enabled, _tooltip in screen.active_bindings.values():
                if enabled and binding.id and binding.id not in by_id:
                    by_id[binding.id] = binding
            for binding_id, label in chosen:
                binding = by_id.get(binding_id)
                if binding is not None and binding_id not in seen:
                    seen.add(binding_id)
                    shown.append((self.app.get_key_display(binding),
                                  label or binding.description))
                    keys.append(binding.key)
        for _node, binding, enabled, _tooltip in (
                screen.active_bindings.values() if chosen is None else ()):
            if not binding.show or not enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            shown.append((self.app.get_key_display(binding), binding.description))
            keys.append(binding.key)
        if shown == self.shown:
            return
        self.shown = shown
        parts: list[Content | tuple[str, str | Style]] = []
        for (display, description), key in zip(shown, keys):
            press = Style.from_meta({"@click": f"app.simulate_key({key!r})"})
            parts += [Content.assemble((f" {display} ", KEY_STYLE)).stylize(press),
                      (f"{description} ", DESCRIPTION_STYLE)]
        self.update(Content.assemble(*parts))
