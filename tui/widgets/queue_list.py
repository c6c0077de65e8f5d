"""The virtual queue list: a Line-API ScrollView over `QueueModel`'s current view.

Modelled on toolong's LogLines: `virtual_size` is (width, row count), `render_line(y)` renders
only visible rows, and rendered rows sit in an LRU cache keyed by (question, version, width,
cursor, age), so repainting after a key press is mostly dictionary hits even at 100,000 rows.

The cursor is a question, not a row: a batch of changes never moves it or the scroll position.
While scrolled away from the top of a newest-first view, arrivals above the viewport are counted
("N new") instead of being shown; `jump_new` goes there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..keymap import LIST_KEYS
from ..queue_model import BatchResult, QueueModel
from .rows import header_segments, received_epoch, row_segments

Clock = Callable[[], datetime]


class QueueList(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"queue-list--cursor", "queue-list--dim", "queue-list--marks",
                         "queue-list--header", "queue-list--live"}
    BINDINGS = [spec.binding() for spec in LIST_KEYS]

    #: arrivals above the viewport since the moderator left the top
    pending_new: reactive[int] = reactive(0)

    class CursorMoved(Message):
        """The cursor is on another question (or on none: an empty view)."""

        def __init__(self, question_id: int | None) -> None:
            super().__init__()
            self.question_id = question_id

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, QueueList.CursorMoved)

    def __init__(self, model: QueueModel, clock: Clock | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.clock = clock
        self.cursor_row = 0
        self.cursor_id: int | None = None
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(2_000)
        self._received: dict[int, float | None] = {}
        self._now: float | None = None

    # --- rendering --------------------------------------------------------------------

    def tick(self) -> None:
        """Re-read the clock (ages); called on a slow timer, and once per repaint batch."""
        self._now = self.clock().timestamp() if self.clock is not None else None
        self.refresh()

    def reset(self) -> None:
        """The view changed wholesale (load, view switch, search): start at the top."""
        self._strips.clear()
        self._sync_size()
        self.jump_to_top()

    def _sync_size(self) -> None:
        # One extra line for the header, which is drawn as the first line of the viewport.
        self.virtual_size = Size(self.scrollable_content_region.width,
                                 len(self.model.view) + 1)

    def on_resize(self) -> None:
        self._strips.clear()
        self._sync_size()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return Strip(header_segments(width, self.get_component_rich_style(
                "queue-list--header")), width)
        row = int(self.scroll_offset.y) + y - 1
        view = self.model.view
        if row >= len(view) or row < 0:
            return Strip.blank(width, self.rich_style)
        qid = view.id_at(row)
        q = self.model.questions[qid]
        if qid not in self._received:
            self._received[qid] = received_epoch(q)
        received = self._received[qid]
        age = int(self._now - received) // 60 if self._now is not None and received else None
        selected = row == self.cursor_row
        key = (qid, q.version, width, selected, self.has_focus, age, int(self._now or 0) // 60
               if age is None else 0)
        strip = self._strips.get(key)
        if strip is None:
            base = self.rich_style
            if selected:
                base = base + self.get_component_rich_style("queue-list--cursor")
            elif q.status == "live":
                base = base + self.get_component_rich_style("queue-list--live")
            segments: list[Segment] = row_segments(
                q, width, self._now, received, base,
                Style(dim=True) if not selected else Style(),
                Style() if selected else self.get_component_rich_style(
                    "queue-list--marks", partial=True))
            strip = Strip(segments, width)
            self._strips.set(key, strip)
        return strip

    # --- the cursor -------------------------------------------------------------------

    @property
    def page(self) -> int:
        return max(self.size.height - 2, 1)

    def _place_cursor(self, row: int, *, scroll: bool = True) -> None:
        view = self.model.view
        if not len(view):
            self.cursor_row, self.cursor_id = 0, None
        else:
            self.cursor_row = max(0, min(row, len(view) - 1))
            self.cursor_id = view.id_at(self.cursor_row)
        if scroll:
            self._scroll_cursor_into_view()
        self.post_message(self.CursorMoved(self.cursor_id))
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_offset.y)
        rows = max(self.size.height - 1, 1)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    def select(self, question_id: int) -> bool:
        row = self.model.view.row_of(question_id)
        if row is None:
            return False
        self._place_cursor(row)
        return True

    def action_cursor_up(self) -> None:
        self._place_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._place_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._place_cursor(self.cursor_row - self.page)

    def action_page_down(self) -> None:
        self._place_cursor(self.cursor_row + self.page)

    def action_last_row(self) -> None:
        self._place_cursor(len(self.model.view) - 1)

    def jump_to_top(self) -> None:
        self.pending_new = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        self._place_cursor(0)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if int(new_value) == 0:
            self.pending_new = 0

    # --- changes ------------------------------------------------------------------------

    def apply_batch(self, result: BatchResult) -> None:
        """Keep the viewport and the cursor's question where they were after a batch."""
        top = old_top = int(self.scroll_offset.y)
        rows = max(self.size.height - 1, 1)
        cursor_was_visible = old_top <= self.cursor_row < old_top + rows
        following = top == 0
        inserted_above = 0
        for op, row in result.ops:
            if op == "del" and row < top:
                top -= 1
            elif op == "ins" and not following and row <= top:
                top += 1
                inserted_above += 1
        self._sync_size()
        view = self.model.view
        row = view.row_of(self.cursor_id) if self.cursor_id is not None else None
        if row is None:  # the cursor's question left this view (approved, or another moderator)
            row = min(self.cursor_row, max(len(view) - 1, 0))
        if cursor_was_visible and row >= top + rows:
            # Arrivals at the top pushed the cursor's question down: keep it on screen.
            inserted_above += row - (top + rows - 1)
            top = row - rows + 1
        if self.model.spec.newest_first and top > 0:
            self.pending_new += min(inserted_above, result.created)
        if top != old_top:
            self.scroll_to(y=top, animate=False, immediate=True)
        previous = self.cursor_id
        self.cursor_row = row
        self.cursor_id = view.id_at(row) if len(view) else None
        if self.cursor_id != previous:
            self.post_message(self.CursorMoved(self.cursor_id))
        self.refresh()
