"""Textual's Footer, minus a leak that grew the moderator process by ~1.7 MB per search.

Textual 8.2's Footer recomposes whenever the active bindings change (every focus change: the
search bar, each modal) and binds each new FooterKey to its `compact` reactive with
`data_bind`. That registers a watcher on the Footer holding the key widget, and Textual drops a
watcher of a removed widget only when the watched value changes, which `compact` never does.
So every recompose kept ~20 removed widgets alive for the rest of the meeting, and each new
watcher was checked against the whole growing list. After each recompose we drop the watchers
whose widget is gone.
"""

from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    async def recompose(self) -> None:
        await super().recompose()
        self.drop_dead_watchers()

    def drop_dead_watchers(self) -> None:
        # "__watchers" is Textual's own attribute name (set with setattr, so not mangled)
        watchers = getattr(self, "__watchers", None)
        if not watchers:
            return
        for entries in watchers.values():
            entries[:] = [(node, callback) for node, callback in entries
                          if node is self or (node.is_attached and not node._closing)]

    def watcher_count(self) -> int:
        """How many watchers the footer holds (the leak's measure, for tests)."""
        return sum(len(entries) for entries in getattr(self, "__watchers", {}).values())
