"""One queue row as terminal cells: number, source, author, text, age, marks.

User text becomes Segments of plain text (never markup), cut to a cell width with Rich's cell
arithmetic so wide CJK and emoji line up. Any control character that slipped past ingestion is
replaced here too: a Segment is written to the terminal as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from aggregator.model import Question, Status, parse_iso
from aggregator.privacy import PRIVATE, PRIVATE_CONFIRMED, confirmed, is_private

from ..timefmt import short_age

_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]+")

SOURCE_LABELS = {"youtube": "YouTube", "zoom": "Zoom", "email": "Email", "manual": "Manual",
                 "zoom_qa": "ZoomQA"}

#: short source names for narrow terminals (the column is 4 cells there)
SHORT_SOURCE_LABELS = {"youtube": "YT", "zoom": "Zoom", "email": "Mail", "manual": "Man",
                       "zoom_qa": "ZmQA"}


@dataclass(frozen=True)
class Columns:
    """Cell widths of the fixed columns; the question text gets the rest of the row.

    Narrow terminals get narrower fixed columns: at 80 columns the old fixed widths left the
    question 21 cells, the one column a moderator reads.
    """

    number: int
    source: int
    author: int
    age: int
    marks: int
    short_sources: bool = False

    @property
    def fixed(self) -> int:
        return self.number + self.source + self.author + self.age + self.marks + 1


NARROW = Columns(6, 5, 11, 4, 14, short_sources=True)
NORMAL = Columns(7, 8, 16, 5, 22)
WIDE = Columns(7, 8, 20, 5, 32)


def columns_for(width: int) -> Columns:
    if width >= 150:
        return WIDE
    if width >= 100:
        return NORMAL
    return NARROW


#: the widths of a 100-column row (kept for callers that size things by them)
NUMBER_W, SOURCE_W, AUTHOR_W, AGE_W, MARKS_W = (NORMAL.number, NORMAL.source, NORMAL.author,
                                                NORMAL.age, NORMAL.marks)
#: the longest assignee shown whole in the marks column
ASSIGNEE_MAX = 16


def one_line(text: str, max_chars: int) -> str:
    """Text flattened to one line (breaks and controls become spaces), cut early for speed."""
    return _NOT_ONE_LINE.sub(" ", text[: max_chars * 2 + 8])


def clip(text: str, max_chars: int) -> str:
    """One line of at most `max_chars` characters (for messages and labels, not columns)."""
    return one_line(text, max_chars)[:max_chars]


def fit(text: str, width: int) -> str:
    """Exactly `width` cells: cut with an ellipsis when too long, padded when short."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def age_text(received: float | None, now: float) -> str:
    """"<1m", "12m", "3h", "2d": short enough for a 5-cell column."""
    if received is None:
        return ""
    # no seconds: rows are cached per minute of age, and seconds would go stale
    return short_age(now - received)


def received_epoch(q: Question) -> float | None:
    try:
        return parse_iso(q.received_at).timestamp()
    except (ValueError, TypeError):
        return None


#: flags shown by their own mark (first in the column, so it is never the one cut)
PRIVATE_FLAGS = frozenset({PRIVATE, PRIVATE_CONFIRMED})


def private_mark(q: Question) -> str:
    """"PRIV" for a private message no moderator confirmed, "PRIV✓" once one did, else ""."""
    if not is_private(q):
        return ""
    return "PRIV" if not confirmed(q) else "PRIV✓"


def mark_parts(q: Question) -> tuple[list[str], list[str]]:
    """The marks of a row as (never cut, cut first when the column is short).

    Never cut: why it was dismissed, the private mark, LIVE, the star, the assignee, the
    number of askers. Cut first: the duplicate hint, tags, flags, the edited mark.
    """
    whole: list[str] = []
    if q.status is Status.DISMISSED and q.dismiss_reason:
        whole.append(q.dismiss_reason.replace("_", " "))
    if is_private(q):
        whole.append(private_mark(q))
    if q.status is Status.LIVE:
        whole.append("LIVE")
    if q.starred:
        whole.append("★")
    if q.assignee:
        whole.append("→" + one_line(q.assignee, ASSIGNEE_MAX)[:ASSIGNEE_MAX])
    if len(q.askers) > 1:
        whole.append(f"+{len(q.askers) - 1}")
    optional: list[str] = []
    if q.similar and q.status is not Status.DISMISSED:
        optional.append(f"≈#{q.similar[0].id}")
    optional.extend("#" + one_line(tag, 40) for tag in q.tags)
    optional.extend("!" + flag for flag in q.flags if flag not in PRIVATE_FLAGS)
    if q.edited_text:
        optional.append("✎")
    return whole, optional


def marks_text(q: Question) -> str:
    """Dismiss reason, private mark, LIVE, star, assignee, askers, duplicate hint, tags
    (`#Funding #Annual plan`), flags, edited."""
    whole, optional = mark_parts(q)
    return " ".join(whole + optional)


def fit_marks(q: Question, width: int) -> str:
    """The marks in at least `width` cells: the never-cut ones whole (the row's text gives
    way when they need more), then the others while they fit, the last one cut."""
    whole, optional = mark_parts(q)
    text = " ".join(whole)
    for part in optional:
        candidate = f"{text} {part}" if text else part
        if cell_len(candidate) <= width:
            text = candidate
            continue
        room = width - cell_len(text) - (1 if text else 0)
        if room >= 3:
            text = (f"{text} " if text else "") + fit(part, room)
        break
    return text if cell_len(text) >= width else set_cell_size(text, width)


def row_segments(q: Question, width: int, now: float | None, received: float | None,
                 base: Style, dim: Style, accent: Style) -> list[Segment]:
    """The row for `q` in exactly `width` cells."""
    cols = columns_for(width)
    labels = SHORT_SOURCE_LABELS if cols.short_sources else SOURCE_LABELS
    number = fit(f"#{q.id}".rjust(cols.number - 1), cols.number - 1) + " "
    source = fit(labels.get(q.source, q.source), cols.source - 1) + " "
    author = fit(one_line(q.author.name, cols.author), cols.author - 1) + " "
    age = (age_text(received, now).rjust(cols.age - 1) + " " if now is not None
           else " " * cols.age)
    marks = fit_marks(q, cols.marks)
    text_w = width - cols.fixed - (cell_len(marks) - cols.marks)
    if text_w < 10:  # a narrow terminal: drop the marks and the author before the text
        marks, text_w = "", width - cols.fixed + cols.marks
    if text_w < 10:
        author, text_w = "", text_w + cols.author
    text = fit(one_line(q.display_text, max(text_w, 0)), max(text_w, 0)) + " "
    segments = [
        Segment(number, base + dim),
        Segment(source, base + dim),
        Segment(author, base),
        Segment(text, base),
        Segment(age, base + dim),
        Segment(marks, base + accent),
    ]
    return Segment.adjust_line_length(segments, width, style=base)


def header_segments(width: int, style: Style) -> list[Segment]:
    cols = columns_for(width)
    text_w = max(width - cols.fixed, 0)
    line = ("#".rjust(cols.number - 1) + " " + fit("Src" if cols.short_sources else "Source",
                                                   cols.source)
            + fit("Author", cols.author) + fit("Question", text_w + 1)
            + "Age".rjust(cols.age - 1) + " " + fit("Marks", cols.marks))
    return [Segment(fit(line, width), style)]
