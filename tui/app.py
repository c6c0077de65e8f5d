"""The moderator app and its factory (the contract other issues call).

`build_moderator_app(client, ...)` is all `townhall run` (a LocalClient), `townhall connect`
(a remote client) and `townhall demo` need: the app talks only to `client`. Keys come from
`keymap.KEYS`, remapped by `[tui] keymap` through Textual's keymap support (binding ids).

What only the application knows comes in as plain values: the page URLs (shown again by
`ctrl+u`) and `stop_warnings`, which says what quitting would stop (connected pages, live
sources) so that ctrl+q asks first instead of ending the call's server mid-call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from textual.app import SystemCommand
from textual.screen import Screen

from aggregator.client import Client

from .key_order import OrderedKeys
from .keymap import (
    APP_KEY_IDS,
    KEYS,
    PEOPLE_KEYS,
    display_keys,
    effective_keys,
    validate_keymap,
)
from .screens.main import MainScreen
from .screens.modals import ConfirmPrompt, TextPrompt
from .screens.people import PeopleScreen

Clock = Callable[[], datetime]
#: what quitting would stop, one short phrase each (empty: nothing, quit at once)
StopWarnings = Callable[[], list[str]]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


class ModeratorApp(OrderedKeys):
    """The moderator TUI. Keys are delivered in the order typed, each once the previous one
    settled (see key_order.py): a dialog never loses or misplaces fast typing."""

    CSS_PATH = Path(__file__).with_name("townhall.tcss")
    BINDINGS = [spec.binding(priority=spec.id == "quit") for spec in KEYS
                if spec.id in APP_KEY_IDS]

    def __init__(self, client: Client, *, keymap: dict[str, str] | None = None,
                 meeting_title: str = "Townhall", answerers: list[str] | None = None,
                 clock: Clock | None = system_clock,
                 page_urls: Sequence[tuple[str, str]] = (), urls_note: str | None = None,
                 stop_warnings: StopWarnings | None = None) -> None:
        super().__init__()
        self.client = client
        self.user_keymap = validate_keymap(keymap)
        self._keys = effective_keys(self.user_keymap)
        self.title = meeting_title
        self.sub_title = f"moderator: {getattr(client, 'actor', '?')}"
        self.answerers = list(answerers or [])
        self.clock = clock
        #: messages shown as notifications once the screen is up (e.g. "no config found")
        self.startup_notices: list[str] = []
        #: set by `townhall run` when neither --name nor [tui] name gave the moderator's name:
        #: the app asks for it first (the audit log, manual questions and undo go by it)
        self.ask_name = False
        self.main: MainScreen | None = None
        #: (label, URL) of the host page, the overlay and the terminal commands
        self.page_urls = list(page_urls)
        self.urls_note = urls_note
        self.stop_warnings = stop_warnings
        self._quit_prompt: ConfirmPrompt | None = None

    def on_mount(self) -> None:
        self.set_keymap(self.user_keymap)
        self.main = MainScreen(self.client, self.clock, self.answerers)
        self.push_screen(self.main)
        for notice in self.startup_notices:
            self.notify(notice, markup=False, timeout=10)
        if self.ask_name:
            self.push_screen(TextPrompt("Your name? (the audit log, manual questions and undo "
                                        "go by it; empty: \"moderator\")",
                                        placeholder="e.g. Ana"), self._name_given)

    def _name_given(self, answer: str | None) -> None:
        name = " ".join((answer or "").split())[:80]
        if name:
            self.client.actor = name
            self.notify(f"You are {name} in the audit log.", markup=False)

    def keys_for(self, binding_id: str) -> str:
        return display_keys(self._keys[binding_id])

    def action_help(self) -> None:
        if self.main is not None:
            self.main.action_help()

    async def action_quit(self) -> None:
        """Quit, after asking when quitting would stop what others rely on (the pages, the
        moderators connected to this server, live sources). ctrl+q again confirms."""
        warnings = self.stop_warnings() if self.stop_warnings is not None else []
        if not warnings or self._quit_prompt is not None:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            self._quit_prompt = None
            if yes:
                self.exit()

        self._quit_prompt = ConfirmPrompt(
            "Quit Townhall?", "Quitting stops this meeting's server and collectors: "
            + "; ".join(warnings) + ".\nQuit anyway? (y, or ctrl+q again)")
        self.push_screen(self._quit_prompt, answered)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every moderator action in the command palette, with its key."""
        yield from super().get_system_commands(screen)
        if isinstance(screen, PeopleScreen):
            for spec in PEOPLE_KEYS:
                yield SystemCommand(f"{spec.description} ({self.keys_for(spec.id)})",
                                    f"binding id: {spec.id}",
                                    lambda action=spec.action: self.call_later(
                                        self.run_action, action, screen))
            return
        if self.main is None or screen is not self.main:
            return
        main = self.main
        for spec in KEYS:
            if spec.id in ("command_palette", "quit"):
                continue
            yield SystemCommand(f"{spec.description} ({self.keys_for(spec.id)})",
                                f"binding id: {spec.id}",
                                lambda action=spec.action: self.call_later(
                                    self.run_action, action, main))
        for spec in PEOPLE_KEYS:  # from the main screen: open People, then the action
            if spec.action == "close":
                continue
            yield SystemCommand(f"{spec.description} ({self.keys_for('people')} "
                                f"{self.keys_for(spec.id)})", f"binding id: {spec.id}",
                                lambda action=spec.action: self.call_later(
                                    main.open_people, action))


def build_moderator_app(client: Client, *, keymap: dict[str, str] | None = None,
                        meeting_title: str = "Townhall", answerers: list[str] | None = None,
                        clock: Clock | None = system_clock,
                        page_urls: Sequence[tuple[str, str]] = (),
                        urls_note: str | None = None,
                        stop_warnings: StopWarnings | None = None) -> ModeratorApp:
    """The moderator TUI over `client`. Raises ConfigError for an unknown keymap binding id.

    `clock` is for tests and snapshots (a fixed time makes the age column stable).
    `page_urls`: (label, URL) pairs shown by ctrl+u; `urls_note` is said under them.
    `stop_warnings()`: what quitting would stop; ctrl+q asks first when it is not empty.
    """
    return ModeratorApp(client, keymap=keymap, meeting_title=meeting_title,
                        answerers=answerers, clock=clock, page_urls=page_urls,
                        urls_note=urls_note, stop_warnings=stop_warnings)
