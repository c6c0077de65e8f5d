"""The follow-up list: each question to answer in writing, with its askers and how to reach
them. Plain UTF-8 text for the staff who write the answers; it is not published, so
it names everyone (email addresses included) whatever `include_askers` says.

User text is already free of control characters (cleaned at ingestion); here it is only
indented so a line of a question can never look like the start of the next entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Status
from .labels import how_to_reach

if TYPE_CHECKING:  # aggregator.export imports this module
    from ..export import ExportData

INDENT = "    "


def _indented(text: str, indent: str) -> str:
    return "\n".join(indent + line.strip() for line in text.splitlines() if line.strip())


def followup_list(data: ExportData) -> str:
    pending = [q for q in data.questions if q.status is Status.FOLLOW_UP]
    title = data.meeting.title
    if data.meeting.starts_at:
        title += f", {data.meeting.starts_at[:10]}"
    people = {a.identity for q in pending for a in q.askers}
    lines = [f"To be answered in writing: {title}",
             f"{len(pending)} question{'s' if len(pending) != 1 else ''}, "
             f"{len(people)} asker{'s' if len(people) != 1 else ''} to reach."]
    for q in pending:
        lines += ["", f"#{q.id}", _indented(q.display_text, INDENT)]
        if q.assignee:
            lines.append(f"{INDENT}to be answered by: {q.assignee}")
        if q.tags:
            lines.append(f"{INDENT}tags: {', '.join(q.tags)}")
        lines.append(f"{INDENT}asked by:")
        lines += [f"{INDENT}  - {a.name}: {how_to_reach(a)}" for a in q.askers]
    return "\n".join(lines) + "\n"
