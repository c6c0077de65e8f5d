"""One queue row as terminal cells: number, source, author, text, age, marks.

User text becomes Segments of plain text (never markup), cut to a cell width with Rich's cell
arithmetic so wide CJK and emoji line up. Any control character that slipped past ingestion is
replaced here too: a Segment is written to the terminal as is.
"""

from __future__ import annotations

import re

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from aggregator.model import Question, Status, parse_iso
from aggregator.privacy import PRIVATE, PRIVATE_CONFIRMED, confirmed, is_private

_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]+")

SOURCE_LABELS = {"youtube": "YouTube", "zoom": "Zoom", "email": "Email", "manual": "Manual",
                 "zoom_qa": "ZoomQA"}

NUMBER_W, SOURCE_W, AUTHOR_W, AGE_W, MARKS_W = 7, 8, 16, 5, 22


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
    seconds = max(0, int(now - received))
    if seconds < 60:  # rows are cached per minute of age: no seconds that would go stale
        return "<1m"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


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


def marks_text(q: Question) -> str:
    """Private mark, status of interest, star, tags, assignee, merged askers, flags, edited."""
    parts: list[str] = []
    if is_private(q):
        parts.append(private_mark(q))
    if q.status is Status.LIVE:
        parts.append("LIVE")
    if q.starred:
        parts.append("★")
    if q.tags:
        parts.append("#" + ",".join(q.tags))
    if q.assignee:
        parts.append("→" + q.assignee)
    if len(q.askers) > 1:
        parts.append(f"+{len(q.askers) - 1}")
    parts.extend("!" + flag for flag in q.flags if flag not in PRIVATE_FLAGS)
    if q.edited_text:
        parts.append("✎")
    return " ".join(parts)


def row_segments(q: Question, width: int, now: float | None, received: float | None,
                 base: Style, dim: Style, accent: Style) -> list[Segment]:
    """The row for `q` in exactly `width` cells."""
    number = f"#{q.id}".rjust(NUMBER_W - 1) + " "
    source = fit(SOURCE_LABELS.get(q.source, q.source), SOURCE_W - 1) + " "
    author = fit(one_line(q.author.name, AUTHOR_W), AUTHOR_W - 1) + " "
    age = age_text(received, now).rjust(AGE_W - 1) + " " if now is not None else " " * AGE_W
    marks = fit(one_line(marks_text(q), MARKS_W), MARKS_W)
    text_w = width - NUMBER_W - SOURCE_W - AUTHOR_W - AGE_W - MARKS_W - 1
    if text_w < 10:  # a narrow terminal: drop the marks and the author before the text
        marks, text_w = "", text_w + MARKS_W
    if text_w < 10:
        author, text_w = "", text_w + AUTHOR_W
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
    text_w = max(width - NUMBER_W - SOURCE_W - AUTHOR_W - AGE_W - MARKS_W - 1, 0)
    line = ("#".rjust(NUMBER_W - 1) + " " + fit("Source", SOURCE_W) + fit("Author", AUTHOR_W)
            + fit("Question", text_w + 1) + "Age".rjust(AGE_W - 1) + " " + fit("Marks", MARKS_W))
    return [Segment(fit(line, width), style)]
