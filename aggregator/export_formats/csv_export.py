"""CSV: one row per question, for spreadsheets (the moderators' export: names as stored).

RFC 4180 through the csv module (quoted where needed, CRLF line ends, UTF-8 without a BOM);
every text cell goes through `csv_cell`, so a question like `=HYPERLINK(...)` is shown, never
evaluated. Numeric columns (id, askers) are ours and written as numbers, `starred` as
true/false. Columns added later go at the end, so a spreadsheet built on the old ones still
reads them where it did.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from ..model import Question
from .escaping import FORMULA_FIRST, csv_cell

COLUMNS = ("id", "source", "author", "text", "edited_text", "status", "dismiss_reason", "tags",
           "assignee", "note", "received_at", "askers", "went_live_at", "answered_at", "flags",
           "starred")
TAG_SEPARATOR = "; "


def csv_row(q: Question) -> list[str | int]:
    texts = (q.source, q.author.name, q.text, q.edited_text or "", q.status.value,
             q.dismiss_reason or "", TAG_SEPARATOR.join(q.tags), q.assignee or "", q.note or "",
             q.received_at)
    later = (q.went_live_at or "", q.answered_at or "", TAG_SEPARATOR.join(q.flags))
    # csv_cell only where the first character can start a formula (a million cells at 100,000
    # questions: the call is skipped for nearly all of them)
    return [q.id, *[csv_cell(t) if t[:1] in FORMULA_FIRST else t for t in texts],
            len(q.askers), *[csv_cell(t) if t[:1] in FORMULA_FIRST else t for t in later],
            "true" if q.starred else "false"]


def to_csv(questions: Iterable[Question]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(csv_row(q) for q in questions)
    return out.getvalue()
