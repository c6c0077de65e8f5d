"""What each moderator key does: a command to the client, often after a small modal.

A mixin of the main screen, kept apart from the event plumbing. Every command goes through
`send()`, which turns a refusal (CommandError: conflict, invalid, forbidden, disconnected) or any
other failure into a notification: a command never crashes the UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aggregator.commands import CommandError
from aggregator.hints import hint_pairs
from aggregator.model import DISMISS_REASONS, OPEN_STATUSES, Question, Status

from .screens.help import HelpScreen
from .screens.modals import ChoicePrompt, ConfirmPrompt, NewQuestionPrompt, TextPrompt
from .widgets.rows import clip

if TYPE_CHECKING:
    from textual.screen import Screen

    from .queue_model import QueueModel
    from .widgets.detail import DetailPane
    from .widgets.queue_list import QueueList

#: seconds a command's question keeps its changes shown at once (a commit takes milliseconds)
OWN_CHANGE_WAIT = 5.0
REMOTE_EXPORT = "export runs on the server: `townhall export`"


def reason_label(reason: str) -> str:
    return reason.replace("_", " ")


def affected_by_ban(model: QueueModel, q: Question) -> int:
    """Open questions by the same person (identity or email), as the ban will touch them."""
    email = (q.author.email or "").lower()
    return sum(1 for other in model.questions.values()
               if other.status in OPEN_STATUSES and (
                   other.identity == q.identity
                   or (email and (other.author.email or "").lower() == email)))


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

    async def _send(self, op: str, q: Question | None, args: dict[str, Any] | None,
                    check_version: bool) -> bool:
        try:
            await self.client.command(op, q.id if q else None, args or {},
                                      q.version if (q and check_version) else None)
        except CommandError as exc:
            self._expect(q, -1)
            self.notify(f"{op}: {exc.message}", title="Refused", severity="error",
                        markup=False)
            return False
        except Exception as exc:  # noqa: BLE001 - a broken link must not end the UI
            self._expect(q, -1)
            self.notify(f"{op} failed: {exc}", title="Error", severity="error", markup=False)
            return False
        return True

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
        self._simple("approve")

    def action_go_live(self) -> None:
        self._simple("go_live")

    def action_answered(self) -> None:
        self._simple("answered")

    def action_follow_up(self) -> None:
        self._simple("follow_up")

    def action_next(self) -> None:
        self.send("next")

    def action_undo(self) -> None:
        self.send("undo")

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
        for qid, score in hint_pairs(q.meta):
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
        n = affected_by_ban(self.model, q)
        message = (f"Ban {clip(q.author.name, 60)} ({q.identity})?\n"
                   f"This affects {n} open question{'s' if n != 1 else ''}: new ones are "
                   "dismissed as banned, queued and live ones are flagged. u undoes it.")
        self.ask(ConfirmPrompt("Ban the author", message),
                 lambda yes: self.send("ban", q) if yes else None)

    def action_new_question(self) -> None:
        self.ask(NewQuestionPrompt("New question"),
                 lambda answer: self.send("add", None, {"text": answer[0],
                                                        "author": answer[1] or None}))

    def action_search(self) -> None:
        self.open_search()

    def apply_search(self, query: str) -> None:
        self.model.search(query)
        self.queue_list.reset()
        self._show_tabs()

    def action_clear_search(self) -> None:
        if self.search_bar.display:
            self.close_search()
        elif self.model.query:
            self.apply_search("")

    def action_export(self) -> None:
        exporter = getattr(self.client, "export", None)
        if exporter is None:
            self.notify(REMOTE_EXPORT, markup=False)
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
