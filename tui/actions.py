"""What each moderator key does: a command to the client, often after a small modal.

A mixin of the main screen, kept apart from the event plumbing. Every command goes through
`send()`, which turns a refusal (CommandError: conflict, invalid, forbidden, disconnected) or any
other failure into a notification: a command never crashes the UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aggregator.commands import Command, CommandError, decide
from aggregator.model import DISMISS_REASONS, Question, Status
from aggregator.privacy import confirmed

from .queue_model import ModelQueueView, question_number
from .screens.help import HelpScreen
from .screens.people import PeopleScreen
from .screens.urls import UrlsScreen
from .screens.modals import (
    ChoicePrompt,
    ConfirmPrompt,
    NewQuestionPrompt,
    PrivatePrompt,
    TextPrompt,
)
from .widgets.rows import SOURCE_LABELS, clip

if TYPE_CHECKING:
    from textual.screen import Screen

    from .queue_model import QueueModel
    from .widgets.detail import DetailPane
    from .widgets.queue_list import QueueList

#: seconds a command's question keeps its changes shown at once (a commit takes milliseconds)
OWN_CHANGE_WAIT = 5.0
NO_EXPORT_HERE = ("Export runs where the database is: run `townhall export` on the server "
                  "(this moderator is connected remotely).")
#: the argument with which approve / go_live take a private message to the host
CONFIRM_PRIVATE = {"confirm_private": True}
#: who asked a manual question when the dialog's field is left empty
FROM_THE_ROOM = "From the room"

Step = tuple[str, dict[str, Any]]


def reason_label(reason: str) -> str:
    return reason.replace("_", " ")


def affected_by_ban(model: QueueModel, q: Question, bans: set[str] | None = None,
                    links: dict[str, str] | None = None) -> int:
    """How many questions banning `q`'s author changes: the ban command's own rule, run on a
    read-only view of the model (so linked identities count exactly as the ban counts them).
    Raises CommandError when the ban would be refused (e.g. already banned)."""
    view = ModelQueueView(model, bans or set(), links or {})
    effect = decide(view, Command(op="ban", question=q.id), "preview")
    return int(effect.summary.get("affected", 0))


def to_host_steps(q: Question, op: str) -> list[Step]:
    """The commands that put `q` on the host list (approve) or on air (go_live).

    A new question goes live in one key: approve, then go_live. A private message that no
    moderator confirmed carries the confirmation on each step (the queue refuses it without).
    """
    ops = ["approve", "go_live"] if op == "go_live" and q.status is Status.NEW else [op]
    args = CONFIRM_PRIVATE if not confirmed(q) else {}
    return [(name, dict(args)) for name in ops]


class ModerationActions:
    """action_* methods of the main screen (see keymap.KEYS for the keys)."""

    client: Any
    model: QueueModel
    queue_list: QueueList
    detail: DetailPane
    answerers: list[str]
    _expedite: int
    _awaited: dict[int, float]

    if TYPE_CHECKING:
        def notify(self, message: str, **kw: Any) -> None: ...
        def run_worker(self, work: Any, **kw: Any) -> Any: ...
        def refresh_detail(self) -> None: ...
        def _show_tabs(self) -> None: ...
        def refresh_footer(self) -> None: ...
        def open_search(self) -> None: ...
        def close_search(self) -> None: ...
        search_bar: Any
        def current_question(self) -> Question | None: ...
        @property
        def app(self) -> Any: ...

    # --- plumbing ------------------------------------------------------------------------

    def send(self, op: str, q: Question | None = None, args: dict[str, Any] | None = None,
             *, check_version: bool = True) -> None:
        """Send a command in the background; refusals become notifications."""
        self._expect(q, +1)
        self.run_worker(self._send(op, q, args, check_version), group="commands",
                        exit_on_error=False)

    def send_steps(self, q: Question, steps: list[Step]) -> None:
        """Commands on one question in order, each once the one before is committed; the first
        refusal stops the rest and says what was done (e.g. approved, but not taken live)."""
        self._expect(q, +1)
        self.run_worker(self._send_steps(q, steps), group="commands", exit_on_error=False)

    async def _send_steps(self, q: Question, steps: list[Step]) -> bool:
        done: list[str] = []
        for op, args in steps:
            # Only the first step checks the version the moderator saw: the later ones follow
            # the change the first one made.
            if not await self._send(op, q, args, check_version=not done, done=done):
                return False
            done.append(op)
        return True

    async def _send(self, op: str, q: Question | None, args: dict[str, Any] | None,
                    check_version: bool, done: list[str] | None = None) -> bool:
        try:
            await self.client.command(op, q.id if q else None, args or {},
                                      q.version if (q and check_version) else None)
        except CommandError as exc:
            self._expect(q, -1)
            message = f"{op}: {exc.message}"
            if exc.code == "conflict" and q is not None:
                message = f"{op}: {await self._who_changed(q)} Nothing was sent: check it " \
                          "and try again."
            if done and q is not None:
                message = f"#{q.id}: {', '.join(done)} done, but {message}"
            self.notify(message, title="Refused", severity="error", markup=False)
            return False
        except Exception as exc:  # noqa: BLE001 - a broken link must not end the UI
            self._expect(q, -1)
            self.notify(f"{op} failed: {exc}", title="Error", severity="error", markup=False)
            return False
        return True

    async def _who_changed(self, q: Question) -> str:
        """"#12 was changed by jan (approve) since you saw it." from the question's history
        (its last entry: the change that made this moderator's copy stale)."""
        try:
            history = await self.client.history(q.id)
        except Exception:  # noqa: BLE001 - the refusal itself is still worth showing
            history = []
        if not history:
            return f"#{q.id} was changed by someone else since you saw it."
        last = history[-1]
        return (f"#{q.id} was changed by {clip(last.actor, 40) or 'someone'} "
                f"({clip(last.action, 30)}) since you saw it.")

    def _expect(self, q: Question | None, step: int) -> None:
        """Note a command in flight (+1) or refused (-1), so that its change is shown at once.

        For a question: its changes in the next few seconds are shown at once (a deadline, not
        a count: a command that changes nothing sends no change, and a count would linger)."""
        if q is None:
            self._expedite = max(self._expedite + step, 0)
        elif step > 0:  # a refusal leaves it to expire: another command may be in flight
            self._awaited[q.id] = time.monotonic() + OWN_CHANGE_WAIT

    def target(self) -> Question | None:
        q = self.current_question()
        if q is None:
            self.notify("No question selected.", severity="warning", markup=False)
        return q

    def ask(self, screen: Screen[Any], then: Callable[[Any], None]) -> None:
        """Push a modal; `then(answer)` runs unless it was cancelled (None)."""
        def done(answer: Any) -> None:
            if answer is not None:
                then(answer)
        self.app.push_screen(screen, done)

    def _simple(self, op: str) -> None:
        q = self.target()
        if q is not None:
            self.send(op, q)

    # --- status changes ------------------------------------------------------------------

    def action_approve(self) -> None:
        self._to_host("approve")

    def action_go_live(self) -> None:
        self._to_host("go_live")

    def _to_host(self, op: str) -> None:
        """approve / go_live; a private message asks first and offers to edit its wording."""
        q = self.target()
        if q is None:
            return
        steps = to_host_steps(q, op)
        if confirmed(q):
            self.send_steps(q, steps)
            return
        source = SOURCE_LABELS.get(q.source, q.source)
        verb = "take live" if op == "go_live" else "approve"
        self.ask(PrivatePrompt(f"#{q.id} was sent privately ({source}): {verb} it?",
                               q.display_text, clip(q.author.name, 60)),
                 lambda choice: self._private_choice(q, steps, choice))

    def _private_choice(self, q: Question, steps: list[Step], choice: str) -> None:
        if choice != "edit":
            self.send_steps(q, steps)
            return

        def edited(text: str) -> None:
            text = text.strip()
            if not text:
                self.notify("The wording cannot be empty: nothing was sent.",
                            severity="warning", markup=False)
                return
            edit = [("edit", {"text": text})] if text != q.display_text else []
            self.send_steps(q, [*edit, *steps])

        self.ask(TextPrompt(f"Edit #{q.id} before it goes to the host", q.display_text,
                            multiline=True), edited)

    def action_answered(self) -> None:
        self._simple("answered")

    def action_follow_up(self) -> None:
        self._simple("follow_up")

    def action_next(self) -> None:
        self.send("next")

    def action_undo(self) -> None:
        self.send("undo")

    def action_end_meeting(self) -> None:
        """Asks first, saying how many questions move: ending is for after the last answer."""
        moving = sum(q.status in (Status.QUEUED, Status.LIVE)
                     for q in self.model.questions.values())
        message = (f"{moving} question{'s' if moving != 1 else ''} (the live one and the host "
                   f"list) move{'s' if moving == 1 else ''} to Follow-up, to be answered in "
                   "writing, and the meeting's end time is recorded. u undoes it.")
        self.ask(ConfirmPrompt("End the meeting", message),
                 lambda yes: self.send("end_meeting") if yes else None)

    def action_recording_started(self) -> None:
        self.send("recording_started", None, {"at": None})
        self.notify("Recording start marked now: the notes link each answer to its second "
                    "in the recording.", markup=False)

    def action_restore(self) -> None:
        q = self.target()
        if q is None:
            return
        op = {Status.DISMISSED: "restore", Status.ANSWERED: "reopen",
              Status.FOLLOW_UP: "reopen", Status.LIVE: "requeue"}.get(q.status)
        if op is None:
            self.notify(f"#{q.id} is {q.status}: nothing to restore.", markup=False)
            return
        self.send(op, q)

    def action_dismiss(self) -> None:
        q = self.target()
        if q is None:
            return
        choices = [(r, reason_label(r)) for r in DISMISS_REASONS if r not in ("banned",
                                                                               "withdrawn")]
        self.ask(ChoicePrompt(f"Dismiss #{q.id}: why?", choices,
                              free_text="or type another reason"),
                 lambda reason: self.send("dismiss", q, {"reason": reason}))

    def action_star(self) -> None:
        q = self.target()
        if q is not None:
            self.send("unstar" if q.starred else "star", q)

    def action_move_up(self) -> None:
        self._reorder(-1)

    def action_move_down(self) -> None:
        self._reorder(+1)

    def _reorder(self, delta: int) -> None:
        q = self.target()
        if q is None:
            return
        if q.status is not Status.QUEUED or q.rank is None:
            self.notify("Only questions on the host list can be reordered.", markup=False)
            return
        self.send("reorder", q, {"rank": max(q.rank + delta, 0)})

    # --- modals ----------------------------------------------------------------------

    def action_edit(self) -> None:
        q = self.target()
        if q is not None:
            self.ask(TextPrompt(f"Edit the wording of #{q.id}", q.display_text, multiline=True),
                     lambda text: self.send("edit", q, {"text": text}))

    def action_note(self) -> None:
        q = self.target()
        if q is not None:
            self.ask(TextPrompt(f"Answer note for #{q.id}", q.note or "", multiline=True),
                     lambda note: self.send("note", q, {"note": note}))

    def action_tag(self) -> None:
        q = self.target()
        if q is not None:
            self.ask(TextPrompt(f"Tags of #{q.id} (comma-separated)", ", ".join(q.tags)),
                     lambda text: self.send("tag", q, {"tags": [
                         t.strip() for t in text.split(",") if t.strip()]}))

    def action_assign(self) -> None:
        q = self.target()
        if q is None:
            return
        choices = [(name, name) for name in self.answerers]
        choices.append(("", "(nobody: clear)"))
        self.ask(ChoicePrompt(f"Who answers #{q.id}?", choices, free_text="or type a name"),
                 lambda name: self.send("assign", q, {"assignee": name or None}))

    def action_merge(self) -> None:
        q = self.target()
        if q is None:
            return
        choices = []
        for qid, score in ((h.id, h.score) for h in q.similar):
            other = self.model.questions.get(qid)
            if other is not None and qid != q.id:
                choices.append((str(qid), f"#{qid} ({score:.0%}) "
                                f"{clip(other.display_text, 60)}"))
        self.ask(ChoicePrompt(f"Merge #{q.id} into which question?", choices,
                              free_text="or type its number, e.g. 12"),
                 lambda answer: self._merge(q, answer))

    def _merge(self, q: Question, answer: str) -> None:
        try:
            into = int(answer.strip().lstrip("#"))
        except ValueError:
            self.notify(f"Not a question number: {answer[:40]}", severity="error", markup=False)
            return
        self.send("merge", q, {"into": into})

    def action_ban(self) -> None:
        q = self.target()
        if q is None:
            return
        # The ban list and identity links live with the queue; a client that cannot tell them
        # (a remote one today) gets a count for this identity and its email alone, and says so.
        rules = getattr(self.client, "identity_rules", None)
        bans, links = rules() if rules is not None else (set(), {})
        try:
            n = affected_by_ban(self.model, q, bans, links)
        except CommandError as exc:
            self.notify(f"ban: {exc.message}", title="Refused", severity="warning",
                        markup=False)
            return
        unknown = "" if rules is not None else " (linked identities not counted: unknown here)"
        message = (f"Ban {clip(q.author.name, 60)} ({q.identity})?\n"
                   f"This affects {n} open question{'s' if n != 1 else ''}{unknown}: new ones "
                   "are dismissed as banned, queued and live ones are flagged. u undoes it.")
        self.ask(ConfirmPrompt("Ban the author", message),
                 lambda yes: self.send("ban", q) if yes else None)

    def action_new_question(self) -> None:
        """A question from the room (or the phone, or a note passed forward): who asked is
        asked too; left empty, it is credited "From the room", never to the moderator."""
        self.ask(NewQuestionPrompt("New question"),
                 lambda answer: self.send("add", None, {"text": answer[0],
                                                        "author": answer[1] or FROM_THE_ROOM}))

    def action_search(self) -> None:
        self.open_search()

    def apply_search(self, query: str) -> None:
        """Narrow the view to `query`; "#N" jumps to question N, in whichever view holds it."""
        number = question_number(query)
        if number is not None and number not in self.model.indexes[self.model.current]:
            holder = self.model.view_holding(number)
            if holder is None:
                self.notify(f"There is no question #{number}.", severity="warning",
                            markup=False)
                return
            self.model.switch(holder)
        self.model.search(query)
        self.queue_list.reset()
        self._show_tabs()
        self.refresh_footer()

    def action_clear_search(self) -> None:
        if self.search_bar.display:
            self.close_search()
        elif self.model.query:
            self.apply_search("")

    def action_export(self) -> None:
        if not self.client.can_export:  # asked before any dialog, not after two
            self.notify(NO_EXPORT_HERE, title="Export", severity="warning", markup=False)
            return
        from aggregator.export import FORMATS  # loaded on use, as LocalClient.export does

        self.ask(ChoicePrompt("Export: which format?", [(f, f) for f in FORMATS]),
                 self._export_path)

    def _export_path(self, fmt: str) -> None:
        from aggregator.export import EXTENSIONS

        default = f"townhall-export.{EXTENSIONS[fmt]}"
        self.ask(TextPrompt(f"Export {fmt} to which file?", default),
                 lambda path: self.run_worker(self._export(fmt, path), group="export",
                                              exit_on_error=False))

    async def _export(self, fmt: str, path: str) -> None:
        self.notify(f"Exporting {fmt} to {path}…", markup=False)
        try:
            summary = await self.client.export(fmt, path)
        except CommandError as exc:
            self.notify(exc.message, title="Export", severity="error", markup=False)
            return
        except Exception as exc:  # noqa: BLE001 - a full disk must not end the UI
            self.notify(f"export failed: {exc}", title="Export", severity="error", markup=False)
            return
        self.notify(str(summary), title="Export", markup=False)

    # --- views --------------------------------------------------------------------------

    def action_view(self, view_id: str) -> None:
        self.model.switch(view_id)
        self.queue_list.reset()
        self._show_tabs()
        self.refresh_footer()

    def action_likely_first(self) -> None:
        self.model.set_likely_first(not self.model.likely_first)
        if self.model.current == "incoming":
            self.queue_list.reset()
        self._show_tabs()

    def action_jump_new(self) -> None:
        self.queue_list.jump_to_top()
        self._show_tabs()

    def action_raw_body(self) -> None:
        self.detail.show_raw = not self.detail.show_raw
        self.refresh_detail()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.app.user_keymap))

    def action_page_urls(self) -> None:
        self.app.push_screen(UrlsScreen(self.app.page_urls, self.app.urls_note))

    def action_people(self) -> None:
        self.open_people()

    def open_people(self, then: str | None = None) -> None:
        """The People view; `then`: one of its actions to run at once (from the palette)."""
        q = self.current_question()
        screen = PeopleScreen(self.client, self.model.questions,
                              suggested=str(q.identity) if q is not None else None)
        self.app.push_screen(screen)
        if then is not None:
            screen.call_after_refresh(screen.run_action, then)
