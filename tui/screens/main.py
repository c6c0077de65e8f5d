"""The moderator's main screen: view tabs, the queue list, the detail pane, the status line.

Events from the client are buffered and applied in one batch at most every 100 ms (a busy chat
would otherwise mean one repaint per message). The one exception: a change that answers this
moderator's own command is applied at once, so a key press repaints without waiting.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from aggregator.client import Client, ConnectionChanged, HealthChanged
from aggregator.health import CollectorHealth
from aggregator.model import HistoryEntry, Question
from aggregator.subscription import Change, Snapshot

from ..actions import ModerationActions
from ..keymap import APP_KEY_IDS, KEYS
from ..queue_model import VIEWS, QueueModel
from ..widgets.detail import DetailPane
from ..widgets.key_footer import KeyFooter
from ..widgets.queue_list import QueueList
from ..widgets.rows import received_epoch
from ..widgets.status_line import BAD_STATES, StatusLine

if TYPE_CHECKING:
    from ..app import ModeratorApp

BATCH_INTERVAL = 0.05  # seconds: arrivals reach the UI at most this often
AGE_TICK = 15.0  # seconds between age refreshes
DETAIL_DELAY = 0.05  # seconds the cursor must rest before the detail pane re-renders
SEARCH_PREPARE_STEP = 4_000  # haystacks built per idle step (~6 ms)


#: tab labels for narrow terminals, so every view's tab fits in 80 columns
SHORT_TITLES = {"incoming": "Incoming", "host": "Host", "answered": "Answered",
                "follow_up": "Follow-up", "dismissed": "Dismissed", "all": "All"}
SHORTEST_TITLES = {"incoming": "In", "host": "Host", "answered": "Ans", "follow_up": "F-up",
                   "dismissed": "Dism", "all": "All"}


def tab_labels(model: QueueModel, width: int | None) -> list[str]:
    """" 1 Incoming (3) " per view, in the longest wording that fits `width` cells."""
    counts = model.counts()
    for titles in ({spec.id: spec.title for spec in VIEWS}, SHORT_TITLES, SHORTEST_TITLES):
        labels = [f" {n} {titles[spec.id]} ({counts[spec.id]}) " for n, spec in
                  enumerate(VIEWS, 1)]
        if width is None or sum(map(len, labels)) <= width:
            return labels
    return [f" {n} {SHORTEST_TITLES[spec.id]} {counts[spec.id]}" for n, spec in
            enumerate(VIEWS, 1)]


def tabs_content(model: QueueModel, pending_new: int, jump_key: str,
                 width: int | None = None) -> Content:
    parts: list[Any] = []
    for label, spec in zip(tab_labels(model, width), VIEWS):
        parts.append((label, "reverse bold" if spec.id == model.current else ""))
    if model.current == "incoming" and model.likely_first:
        parts.append((" likely first ", "italic $accent"))
    if model.query:
        parts += [("  search: ", "bold"), model.query[:40],
                  (f" ({len(model.view)})", "dim")]
    if pending_new:
        parts.append((f"  ▲ {pending_new} new ({jump_key}) ", "bold reverse $warning"))
    return Content.assemble(*parts)


#: the footer of each view: the keys that view is for (binding id, label; None: the key's own)
FOOTER_KEYS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "incoming": (("approve", None), ("go_live", None), ("dismiss", None), ("merge", "Merge"),
                 ("new_question", None), ("search", None), ("undo", None)),
    "host": (("go_live", None), ("answered", None), ("next", "Next"), ("move_up", "Up"),
             ("restore", "Requeue"), ("undo", None)),
    "answered": (("restore", "Reopen"), ("follow_up", "Follow-up"), ("note", "Note"),
                 ("search", None), ("undo", None)),
    "follow_up": (("answered", None), ("restore", "Reopen"), ("note", "Note"),
                  ("search", None), ("undo", None)),
    "dismissed": (("restore", "Restore"), ("search", None), ("undo", None)),
    "all": (("approve", None), ("dismiss", None), ("restore", "Restore"), ("search", None),
            ("undo", None)),
}
#: at the end of every view's footer
FOOTER_ALWAYS: tuple[tuple[str, str | None], ...] = (("help", None), ("quit", None))


class MainScreen(ModerationActions, Screen[None]):
    BINDINGS = [spec.binding() for spec in KEYS if spec.id not in APP_KEY_IDS]

    def __init__(self, client: Client, clock: Callable[[], datetime] | None,
                 answerers: list[str]) -> None:
        super().__init__()
        self.client = client
        self.answerers = answerers
        self.clock = clock
        self.model = QueueModel()
        self.queue_list = QueueList(self.model, clock, id="queue")
        self.detail = DetailPane(clock, id="detail")
        self.status_line = StatusLine(id="status")
        self.tabs = Static(Content(""), markup=False, id="tabs")
        self.search_bar = Input(placeholder="search this view: enter applies (empty clears), "
                                "escape closes", id="search-bar")
        self._pending: list[Question] = []
        self._snapshot: Snapshot | None = None
        self._health: list[CollectorHealth] | None = None
        self._states: dict[str, str] = {}
        self._flush_timer: Timer | None = None
        self._last_flush = 0.0
        # Own commands are shown at once, not with the next 100 ms batch of arrivals: changes
        # to a question we sent a command for (until a deadline, see actions._expect), and (for
        # commands without a target question: next, undo, new) the next change of any question.
        self._expedite = 0
        self._awaited: dict[int, float] = {}
        self._detail_timer: Timer | None = None
        self._history: dict[int, list[HistoryEntry]] = {}
        self.loaded = False
        self.tabs_plain = ""
        self._warned_silent: set[str] = set()

    @property
    def moderator_app(self) -> ModeratorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield self.tabs
        yield self.search_bar
        yield self.queue_list
        yield self.detail
        yield self.status_line
        yield KeyFooter()

    def on_mount(self) -> None:
        self.queue_list.focus()
        self.queue_list.tick()
        self.set_interval(AGE_TICK, self.tick)
        self._show_status()
        self._show_tabs()
        self.watch(self.queue_list, "pending_new", lambda _n: self._show_tabs(), init=False)
        self._pump()

    def tick(self) -> None:
        """Ages move on: the list's age column and the status line's last-message ages."""
        self.queue_list.tick()
        self._show_status()

    def on_resize(self) -> None:
        self._show_tabs()
        self._show_status()

    def _show_status(self) -> None:
        """The status line with each source's newest message, and a one-time notice when a
        live source falls silent (a dead webhook looks exactly like a quiet audience)."""
        line = self.status_line
        line.now = self.clock() if self.clock is not None else None
        questions = self.model.questions
        line.last_arrivals = {
            source: at for source, qid in self.model.newest_by_source.items()
            if qid in questions and (at := received_epoch(questions[qid])) is not None}
        line.show()
        silent = set(line.silent_sources())
        for name in sorted(silent - self._warned_silent):
            self.notify(f"{name}: no message for a while although it is live. Check the "
                        "source (e.g. Zoom's webhook endpoint) if the audience is active.",
                        title="Silent source", severity="warning", markup=False, timeout=15)
        self._warned_silent = silent

    # --- events from the client ----------------------------------------------------------

    @work(exclusive=True, group="client-events", exit_on_error=False)
    async def _pump(self) -> None:
        try:
            async for event in self.client.events():
                if isinstance(event, Snapshot):
                    self._snapshot, self._pending = event, []
                    self._schedule_flush(at_once=True)
                elif isinstance(event, Change):
                    self._pending.append(event.question)
                    qid = event.question.id
                    deadline = self._awaited.get(qid)
                    awaited = deadline is not None and deadline > time.monotonic()
                    if deadline is not None and not awaited:
                        del self._awaited[qid]
                    self._schedule_flush(at_once=awaited or self._expedite > 0)
                elif isinstance(event, HealthChanged):
                    self._health = event.collectors
                    self._schedule_flush()
                elif isinstance(event, ConnectionChanged):
                    self._connection(event)
        except Exception as exc:  # noqa: BLE001 - the UI must outlive a broken stream
            self._connection(ConnectionChanged(False, f"event stream failed: {exc}"))

    def _connection(self, event: ConnectionChanged) -> None:
        self.status_line.connected = event.connected
        self.status_line.connection_reason = event.reason
        self._show_status()
        if event.connected:
            self.notify("Connected to the server.", markup=False)
        else:
            self.notify(f"Disconnected: {event.reason or 'reconnecting'}", severity="error",
                        markup=False)

    def _schedule_flush(self, *, at_once: bool = False) -> None:
        if at_once:
            if self._flush_timer is not None:
                self._flush_timer.stop()
                self._flush_timer = None
            self.flush()
            return
        if self._flush_timer is None:
            delay = max(0.005, self._last_flush + BATCH_INTERVAL - time.monotonic())
            self._flush_timer = self.set_timer(delay, self.flush)

    def flush(self) -> None:
        """Apply everything buffered since the last flush, in one repaint."""
        self._flush_timer = None
        self._last_flush = time.monotonic()
        if self._expedite and self._pending:
            self._expedite -= 1
        with self.app.batch_update():
            if self._snapshot is not None:
                snapshot, self._snapshot = self._snapshot, None
                self.model.load(snapshot.questions, snapshot.seq)
                self.queue_list.reset()
                self.loaded = True
                # 100,000 long-lived questions: keep them out of the cyclic GC's full scans,
                # which otherwise pause the UI for a noticeable moment now and then.
                gc.freeze()
                self._prepare_search_soon()
            if self._pending:
                changes, self._pending = self._pending, []
                cursor = self.queue_list.cursor_id
                self.queue_list.apply_batch(self.model.apply(changes))
                if cursor is not None and any(q.id == cursor for q in changes):
                    self._history.pop(cursor, None)
                    self._schedule_detail()
            if self._health is not None:
                self._apply_health(self._health)
                self._health = None
            self._show_status()
            self._show_tabs()

    def _prepare_search_soon(self) -> None:
        """Build the search haystacks in small steps between frames (see prepare_search)."""
        def step() -> None:
            if self.model.prepare_search(SEARCH_PREPARE_STEP):
                timer.stop()
        timer = self.set_interval(0.02, step)

    def _apply_health(self, collectors: list[CollectorHealth]) -> None:
        self.status_line.collectors = collectors
        for h in collectors:
            before = self._states.get(h.name)
            self._states[h.name] = h.state
            if h.state == before or (h.state not in BAD_STATES and h.state != "ended"):
                continue
            severity = "error" if h.state == "stopped" else "warning"
            why = f": {h.reason}" if h.reason else ""
            self.notify(f"{h.name} {h.state}{why}", title="Collector", severity=severity
                        if h.state != "ended" else "information", markup=False)

    def footer_keys(self) -> tuple[tuple[str, str | None], ...] | None:
        """The current view's keys, for the footer (see KeyFooter); elsewhere (the search
        bar) the focused widget's own."""
        if not self.queue_list.has_focus:
            return None
        return FOOTER_KEYS.get(self.model.current, ()) + FOOTER_ALWAYS

    def refresh_footer(self) -> None:
        for footer in self.query(KeyFooter):
            footer.bindings_changed(self)

    def _show_tabs(self) -> None:
        jump = self.moderator_app.keys_for("jump_new")
        content = tabs_content(self.model, self.queue_list.pending_new, jump,
                               self.size.width or None)
        self.tabs_plain = content.plain
        self.tabs.update(content)

    # --- the search bar (inline: a modal screen would cost a full repaint per search) ----

    def open_search(self) -> None:
        self.search_bar.value = self.model.query
        self.search_bar.display = True
        self.search_bar.focus()

    def close_search(self) -> None:
        self.search_bar.display = False
        self.queue_list.focus()

    @on(Input.Submitted, "#search-bar")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.close_search()
        self.apply_search(event.value)

    # --- the cursor and the detail pane -----------------------------------------------

    @on(QueueList.CursorMoved)
    def _cursor_moved(self) -> None:
        self._schedule_detail()

    def _schedule_detail(self) -> None:
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_DELAY, self.refresh_detail)

    def refresh_detail(self) -> None:
        self._detail_timer = None
        q = self.current_question()
        history = self._history.get(q.id) if q is not None else None
        self.detail.show(q, self.model.questions, history)
        if q is not None and history is None:
            self._load_history(q.id)

    @work(exclusive=True, group="history", exit_on_error=False)
    async def _load_history(self, question_id: int) -> None:
        try:
            entries = await self.client.history(question_id)
        except Exception as exc:  # noqa: BLE001 - a failed look-up is shown, not fatal
            entries = [HistoryEntry(at="", actor="", action="history unavailable",
                                    detail={"error": str(exc)})]
        self._history[question_id] = list(entries)
        if len(self._history) > 200:
            self._history.pop(next(iter(self._history)))
        if self.queue_list.cursor_id == question_id:
            self.detail.show(self.model.questions.get(question_id), self.model.questions,
                             self._history[question_id])

    def current_question(self) -> Question | None:
        qid = self.queue_list.cursor_id
        return self.model.questions.get(qid) if qid is not None else None
