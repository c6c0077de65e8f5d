"""`townhall host`: the host's read-only view in the terminal.

The live question in large type (bold, boxed, with room around it: a terminal cannot change its
font size) with its source, asker and assignee, and, when configured, the names of everyone
who asked it; below, the next questions of the host list in order. `n` or space says "next".
It talks only to a `Client` (a RemoteClient with the host role, which the server allows
`next` and nothing else), so it works the same against the local server or a remote one.
It shows `HostQuestion`s, the host's allowlist (aggregator/roles.py); a full `Question` handed
to it (a client that does not filter) is filtered and cut down the same way here, so the host
screen never shows more than the host role may see. Every piece of user text goes through
`Content(...)`: user text is never parsed as markup, so `[bold]` stays those characters.
"""

from __future__ import annotations

import contextlib

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from aggregator.client import Client, ConnectionChanged
from aggregator.commands import CommandError
from aggregator.model import Question, Status
from aggregator.roles import HostQuestion, present, visible
from aggregator.subscription import Change, Snapshot
from .widgets.key_footer import KeyFooter

#: how many upcoming questions the view lists
NEXT_COUNT = 12


def describe(question: HostQuestion) -> str:
    parts = [f"#{question.id}", question.source]
    if question.author.name:
        parts.append(f"asked by {question.author.name}")
    if question.assignee:
        parts.append(f"for {question.assignee}")
    return " · ".join(parts)


def as_host(question: Question | HostQuestion) -> HostQuestion | None:
    """The question as the host may see it, or None when it is not theirs to see."""
    if isinstance(question, HostQuestion):
        return question
    return present("host", question) if visible("host", question) else None  # type: ignore[return-value]


class HostApp(App[None]):
    TITLE = "Townhall host view"
    CSS = """
    Screen { background: $surface; }
    #status { height: 1; color: $warning; padding: 0 2; }
    #live { border: heavy $accent; padding: 1 3; margin: 1 2; height: auto; min-height: 7; }
    #live-text { text-style: bold; color: $text; width: 100%; }
    #live-text.empty { text-style: italic; color: $text-muted; }
    #live-meta { color: $text-muted; margin-top: 1; }
    #live-askers { color: $text-muted; }
    #next-title { padding: 0 2; color: $text-muted; text-style: bold; }
    #next { padding: 0 2; }
    .next-item { margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("n", "next_question", "Next", id="host.next"),
        Binding("space", "next_question", "Next", show=False, id="host.next_space"),
        Binding("q,ctrl+q", "quit", "Quit", id="host.quit"),
    ]

    def __init__(self, client: Client, *, show_askers: bool = False,
                 meeting_title: str = "") -> None:
        super().__init__()
        self.client = client
        self.show_askers = show_askers
        self.questions: dict[int, HostQuestion] = {}
        if meeting_title:
            self.sub_title = meeting_title

    def compose(self) -> ComposeResult:
        yield Static("", id="status")
        with Vertical(id="live"):
            yield Static(Content("Nothing is live."), id="live-text", classes="empty")
            yield Static("", id="live-meta")
            yield Static("", id="live-askers")
        yield Static(Content("Next"), id="next-title")
        yield VerticalScroll(id="next")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.run_worker(self._follow(), exclusive=True, group="events")

    async def _follow(self) -> None:
        async for event in self.client.events():
            if isinstance(event, Snapshot):
                self.questions = {q.id: q for q in map(as_host, event.questions) if q}
            elif isinstance(event, Change):
                question = as_host(event.question)
                if question is None:
                    self.questions.pop(event.question.id, None)
                else:
                    self.questions[question.id] = question
            elif isinstance(event, ConnectionChanged):
                status = "" if event.connected else f"Disconnected: {event.reason or ''}"
                self.query_one("#status", Static).update(Content(status))
                continue
            else:
                continue
            await self._refresh_view()

    def live(self) -> HostQuestion | None:
        return next((q for q in self.questions.values() if q.status is Status.LIVE), None)

    def upcoming(self) -> list[HostQuestion]:
        queued = [q for q in self.questions.values() if q.status is Status.QUEUED]
        return sorted(queued, key=lambda q: (q.rank if q.rank is not None else 1 << 30, q.id))

    async def _refresh_view(self) -> None:
        live = self.live()
        text = self.query_one("#live-text", Static)
        text.update(Content(live.text if live else "Nothing is live."))
        text.set_class(live is None, "empty")
        self.query_one("#live-meta", Static).update(Content(describe(live) if live else ""))
        askers = ""
        if live is not None and self.show_askers:
            names = list(dict.fromkeys(name for name in live.askers if name))
            if len(names) > 1:
                askers = "Asked by: " + ", ".join(names)
        self.query_one("#live-askers", Static).update(Content(askers))
        container = self.query_one("#next", VerticalScroll)
        with self.batch_update():
            await container.remove_children()
            items = [Static(Content(f"{n}. {q.text}\n   {describe(q)}"),
                            classes="next-item")
                     for n, q in enumerate(self.upcoming()[:NEXT_COUNT], start=1)]
            if not items:
                items = [Static(Content("The host list is empty."), classes="next-item")]
            await container.mount_all(items)

    async def action_next_question(self) -> None:
        try:
            live = self.live()  # `live`: a second press answers nothing it did not show
            await self.client.command("next", args={"live": live.id if live else None})
        except CommandError as exc:
            self.notify(exc.message, title="Not done", severity="error", markup=False)

    async def on_unmount(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()
