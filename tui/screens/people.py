"""The People view: the ban list and linked identities, and the keys that change them.

Why: `unban`, `link` and `unlink` existed only in the protocol, so a wrong ban could be taken
back only while it was the moderator's last command (`u`). Here every ban can be lifted and
identities linked or separated at any time.

The lists come from the client's `identity_rules()` (a LocalClient reads them from the queue).
A remote client cannot tell them: the view says so, and the keys still work by typing an
identity such as `youtube:UC123` or `email:ana@example.org`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from aggregator.commands import CommandError
from aggregator.model import Question

from ..keymap import PEOPLE_KEYS
from ..widgets.key_footer import KeyFooter
from ..widgets.rows import clip
from .modals import TextPrompt

NOT_AVAILABLE = ("The ban list and identity links are kept on the server and are not "
                 "available to a remote moderator. u, l and k still work: type the identity, "
                 "e.g. youtube:UC123 or email:ana@example.org.")
EXAMPLE = "e.g. youtube:UC123, email:ana@example.org"

Rules = tuple[set[str], dict[str, str]]


def people_rows(bans: set[str], links: Mapping[str, str], names: Mapping[str, str]
                ) -> list[tuple[str, str, Content]]:
    """(kind, identity, label) per row: bans first, then linked identities grouped by person."""
    def who(identity: str) -> str:
        name = names.get(identity)
        return f"  ({clip(name, 40)})" if name else ""

    rows: list[tuple[str, str, Content]] = []
    for entry in sorted(bans):
        rows.append(("ban", entry, Content.assemble(("banned  ", "bold $error"), entry,
                                                      (who(entry), "dim"))))
    people: dict[str, list[str]] = {}
    for identity, person in links.items():
        people.setdefault(person, []).append(identity)
    for person in sorted(people):
        group = sorted(people[person])
        for identity in group:
            others = ", ".join(i for i in group if i != identity)
            rows.append(("link", identity, Content.assemble(
                ("linked  ", "bold $accent"), identity, (who(identity), "dim"),
                ("  = " + others if others else "", "dim"))))
    return rows


def identity_names(questions: Mapping[int, Question], wanted: set[str]) -> dict[str, str]:
    """The author name last seen for each identity in `wanted` (to say who a ban is about)."""
    names: dict[str, str] = {}
    if not wanted:
        return names
    for q in questions.values():
        identity = f"{q.source}:{q.author.id}"
        if identity in wanted:
            names[identity] = q.author.name
        if q.author.email and f"email:{q.author.email.lower()}" in wanted:
            names[f"email:{q.author.email.lower()}"] = q.author.name
    return names


class PeopleScreen(Screen[None]):
    """Bans and links, one per row; u unban, l link, k unlink, escape back."""

    BINDINGS = [spec.binding() for spec in PEOPLE_KEYS]

    def __init__(self, client: Any, questions: Mapping[int, Question],
                 suggested: str | None = None) -> None:
        super().__init__()
        self.client = client
        self.questions = questions
        #: the identity of the question under the main cursor, offered in the prompts
        self.suggested = suggested
        self.rows: list[tuple[str, str, Content]] = []
        self.rules_of: Callable[[], Rules] | None = getattr(client, "identity_rules", None)

    def compose(self) -> ComposeResult:
        yield Static(Content(" People: bans and linked identities"), markup=False,
                     id="people-title")
        yield OptionList(id="people-list", markup=False)
        yield Static(Content(""), markup=False, id="people-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(OptionList).focus()

    @property
    def available(self) -> bool:
        return self.rules_of is not None

    def reload(self) -> None:
        listing = self.query_one(OptionList)
        note = self.query_one("#people-note", Static)
        if self.rules_of is None:
            self.rows = []
            listing.clear_options()
            note.update(Content(NOT_AVAILABLE))
            return
        bans, links = self.rules_of()
        names = identity_names(self.questions, set(bans) | set(links))
        self.rows = people_rows(bans, links, names)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options([Option(label) for _kind, _identity, label in self.rows])
        if self.rows:
            listing.highlighted = min(highlighted or 0, len(self.rows) - 1)
        note.update(Content(
            f"{len(bans)} banned, {len(links)} linked. u lifts the selected ban, l links "
            "identities, k unlinks the selected one; u on the main screen undoes."
            if self.rows else "Nobody is banned and no identities are linked."))

    def selected(self, kind: str) -> str | None:
        index = self.query_one(OptionList).highlighted
        if index is None or index >= len(self.rows):
            return None
        row_kind, identity, _label = self.rows[index]
        return identity if row_kind == kind else None

    # --- actions ----------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_unban(self) -> None:
        identity = self.selected("ban")
        if identity is not None:
            self.send("unban", {"identity": identity})
            return
        self.app.push_screen(
            TextPrompt(f"Lift the ban on which identity? ({EXAMPLE})", self.suggested or ""),
            lambda answer: self.send("unban", {"identity": answer.strip()})
            if answer and answer.strip() else None)

    def action_link(self) -> None:
        start = self.selected("ban") or self.selected("link") or self.suggested or ""
        self.app.push_screen(
            TextPrompt(f"Link which identities as one person? (comma-separated, {EXAMPLE})",
                       f"{start}, " if start else ""),
            lambda answer: self.send("link", {"identities": split_identities(answer)})
            if answer and split_identities(answer) else None)

    def action_unlink(self) -> None:
        identity = self.selected("link")
        if identity is not None:
            self.send("unlink", {"identities": [identity]})
            return
        self.app.push_screen(
            TextPrompt(f"Unlink which identity? ({EXAMPLE})", self.suggested or ""),
            lambda answer: self.send("unlink", {"identities": split_identities(answer)})
            if answer and split_identities(answer) else None)

    @work(group="people", exit_on_error=False)
    async def send(self, op: str, args: dict[str, Any]) -> None:
        try:
            await self.client.command(op, None, args)
        except CommandError as exc:
            self.notify(f"{op}: {exc.message}", title="Refused", severity="error", markup=False)
            return
        except Exception as exc:  # noqa: BLE001 - a broken link must not end the UI
            self.notify(f"{op} failed: {exc}", title="Error", severity="error", markup=False)
            return
        done = {"unban": "Ban lifted", "link": "Linked", "unlink": "Unlinked"}[op]
        self.notify(f"{done}: {', '.join(args.get('identities') or [args.get('identity')])}",
                    markup=False)
        if self.is_mounted:
            self.reload()


def split_identities(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
