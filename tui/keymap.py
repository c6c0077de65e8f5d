"""Every moderator key as a binding with an id (README.md, "Moderator keys"), and `[tui] keymap`.

The ids are the public names users remap in config (`[tui] keymap = { approve = "y" }`): they
never change meaning. The table here is the one source for the app's bindings, the help screen,
the command palette and the README's key table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding

from aggregator.config import ConfigError


@dataclass(frozen=True)
class KeySpec:
    id: str
    keys: str  # Textual key names, comma-separated
    action: str  # the app's action (without "action_")
    description: str  # help / palette text
    show: bool = False  # in the footer
    short: str = ""  # footer text (defaults to the description)

    @property
    def footer(self) -> str:
        return self.short or self.description

    def binding(self, *, priority: bool = False) -> Binding:
        return Binding(self.keys, self.action, self.footer, show=self.show, id=self.id,
                       tooltip=self.description, priority=priority)


KEYS: tuple[KeySpec, ...] = (
    KeySpec("approve", "a", "approve", "Approve to the host list", show=True, short="Approve"),
    KeySpec("dismiss", "d", "dismiss", "Dismiss (asks the reason)", show=True, short="Dismiss"),
    KeySpec("restore", "r", "restore",
            "Restore a dismissed question / reopen an answered one / requeue the live one",
            short="Restore"),
    KeySpec("go_live", "l", "go_live", "Go live (the host reads it now)", show=True, short="Live"),
    KeySpec("answered", "x", "answered", "Mark answered", show=True, short="Answered"),
    KeySpec("follow_up", "w", "follow_up", "Follow up in writing"),
    KeySpec("star", "s", "star", "Star / unstar"),
    KeySpec("edit", "e", "edit", "Edit the wording"),
    KeySpec("tag", "t", "tag", "Set tags"),
    KeySpec("assign", "o", "assign", "Assign an answerer"),
    KeySpec("note", "c", "note", "Write the answer note"),
    KeySpec("merge", "m", "merge", "Merge into another question"),
    KeySpec("ban", "b", "ban", "Ban the author (asks to confirm)"),
    KeySpec("new_question", "n", "new_question", "New manual question", show=True, short="New"),
    KeySpec("search", "slash", "search", "Search the view", show=True, short="Search"),
    KeySpec("clear_search", "escape", "clear_search", "Clear the search"),
    KeySpec("undo", "u", "undo", "Undo my last command", show=True, short="Undo"),
    KeySpec("move_up", "shift+up", "move_up", "Move up in the host list"),
    KeySpec("move_down", "shift+down", "move_down", "Move down in the host list"),
    KeySpec("next", "ctrl+n", "next", "Next: the live one answered, the top one live"),
    KeySpec("end_meeting", "E", "end_meeting",
            "End the meeting: the live question and the host list to follow-up (asks first)"),
    KeySpec("recording_started", "R", "recording_started",
            "Recording started now (the notes' time links count from here)"),
    KeySpec("view_incoming", "1", "view('incoming')", "Incoming view"),
    KeySpec("view_host", "2", "view('host')", "Host list view"),
    KeySpec("view_answered", "3", "view('answered')", "Answered view"),
    KeySpec("view_follow_up", "4", "view('follow_up')", "Follow-up view"),
    KeySpec("view_dismissed", "5", "view('dismissed')", "Dismissed view"),
    KeySpec("view_all", "6", "view('all')", "All questions view"),
    KeySpec("likely_first", "f", "likely_first", "Incoming: likely questions first (toggle)"),
    KeySpec("jump_new", "g,home", "jump_new", "Jump to the newest questions"),
    KeySpec("raw_body", "v", "raw_body", "Detail: email raw body / cleaned text (toggle)"),
    KeySpec("export", "ctrl+e", "export", "Export the questions to a file"),
    KeySpec("people", "p", "people", "People: bans and linked identities", short="People"),
    KeySpec("page_urls", "ctrl+u", "page_urls", "Page URLs: the host page and the overlay",
            short="URLs"),
    KeySpec("help", "question_mark", "help", "Help: every key", show=True, short="Help"),
    KeySpec("command_palette", "ctrl+p", "command_palette", "Command palette"),
    KeySpec("quit", "ctrl+q", "quit", "Quit", show=True, short="Quit"),
)

#: the People view's keys (tui/screens/people.py)
PEOPLE_KEYS: tuple[KeySpec, ...] = (
    KeySpec("unban", "u", "unban", "People: lift the ban on an identity", show=True,
            short="Unban"),
    KeySpec("link", "l", "link", "People: link identities as one person", show=True,
            short="Link"),
    KeySpec("unlink", "k", "unlink", "People: unlink an identity", show=True, short="Unlink"),
    KeySpec("people_close", "escape,p", "close", "People: back to the questions", show=True,
            short="Back"),
)

#: the list widget's own keys (cursor movement); remappable the same way
LIST_KEYS: tuple[KeySpec, ...] = (
    KeySpec("cursor_up", "up,k", "cursor_up", "Cursor up"),
    KeySpec("cursor_down", "down,j", "cursor_down", "Cursor down"),
    KeySpec("page_up", "pageup", "page_up", "Page up"),
    KeySpec("page_down", "pagedown", "page_down", "Page down"),
    KeySpec("last_row", "end", "last_row", "Last row"),
)

ALL_KEYS: tuple[KeySpec, ...] = KEYS + LIST_KEYS + PEOPLE_KEYS
#: the keys the app holds (they work on every screen); the other KEYS are the main screen's
APP_KEY_IDS = frozenset({"help", "command_palette", "quit"})
BINDING_IDS = frozenset(spec.id for spec in ALL_KEYS)


def validate_keymap(keymap: Mapping[str, object] | None, source: str | None = None
                    ) -> dict[str, str]:
    """`[tui] keymap` checked: known binding ids, non-empty key strings. Raises ConfigError."""
    checked: dict[str, str] = {}
    for binding_id, keys in (keymap or {}).items():
        key = f"tui.keymap.{binding_id}"
        if binding_id not in BINDING_IDS:
            raise ConfigError(source, key, f"unknown binding id {binding_id!r}",
                              "use one of: " + ", ".join(sorted(BINDING_IDS)))
        if not isinstance(keys, str) or not keys.strip() or any(
                not part.strip() for part in keys.split(",")):
            raise ConfigError(source, key, f"keys must be a string like \"a\" or \"a,ctrl+a\", "
                              f"not {keys!r}", "give one or more Textual key names, comma-"
                              "separated (run `textual keys` to see a key's name)")
        checked[binding_id] = ",".join(part.strip() for part in keys.split(","))
    return checked


def effective_keys(keymap: Mapping[str, str] | None = None) -> dict[str, str]:
    """binding id -> keys after the user's remapping (for the help screen and README)."""
    keys = {spec.id: spec.keys for spec in ALL_KEYS}
    keys.update(keymap or {})
    return keys


def display_keys(keys: str) -> str:
    """"slash" -> "/", "question_mark" -> "?", for people."""
    names = {"slash": "/", "question_mark": "?", "escape": "esc"}
    return " / ".join(names.get(k, k) for k in keys.split(","))
