"""The notes page published after the call, in Markdown or MediaWiki wikitext.

Layout: title and date from `[meeting]`; the answered questions in the order they were answered,
each a bullet with the wording the host read, then who answered and the answer note; "To be
answered in writing" with the follow-up questions; counts per source and per dismissal reason
(never the dismissed text). Askers are named only with `--include-askers` or
`[export] include_askers`.

The page is public, so it follows aggregator/privacy.py: no email address anywhere (names go
through `public_name`, an address inside a wording or note is replaced), a `private` question
appears only once a moderator confirmed it and never with its asker, and nothing of a
dismissed question but its count.

Who answered: the question's assignee, else the meeting's host, else nobody is named.
User text is put on one line (whitespace collapsed) and escaped by the dialect, so no question
can start a heading or list, close a bullet, or inject markup, links, templates or HTML.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import Asker, Question, Status
from ..privacy import (
    HIDDEN_ASKER,
    confirmed,
    is_private,
    public_asker,
    public_name,
    redact_addresses,
)
from . import timeline
from .escaping import markdown_escape, wikitext_escape
from .labels import OTHER_REASON, REASON_LABELS, SOURCE_LABELS, reason_label, source_label

if TYPE_CHECKING:  # aggregator.export imports this module
    from ..export import ExportData

@dataclass(frozen=True)
class Dialect:
    name: str
    escape: Callable[[str], str]
    heading: Callable[[str], str]  # a section heading from already escaped text
    bold: Callable[[str], str]
    bullet_marks: tuple[str, str]  # top-level and nested bullet prefixes
    empty: Callable[[str], str]  # a "nothing here" line


MARKDOWN = Dialect(
    name="markdown", escape=markdown_escape, heading=lambda t: f"## {t}",
    bold=lambda t: f"**{t}**", bullet_marks=("- ", "  - "), empty=lambda t: f"_{t}_",
)
WIKITEXT = Dialect(
    name="wikitext", escape=wikitext_escape, heading=lambda t: f"== {t} ==",
    bold=lambda t: f"'''{t}'''", bullet_marks=("* ", "** "), empty=lambda t: f"''{t}''",
)


def one_line(text: str) -> str:
    """Whitespace runs collapsed to one space (str.split splits on exactly what `\\s` matches)."""
    return " ".join(text.split())


class _Page:
    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect
        self.lines: list[str] = []

    def text(self, raw: str) -> str:
        return self.d.escape(one_line(redact_addresses(raw)))

    def name(self, raw: str, email: str | None = None) -> str:
        return self.d.escape(one_line(public_name(raw, email)))

    def section(self, title: str) -> None:
        self.lines += ["", self.d.heading(self.d.escape(title)), ""]

    def bullet(self, content: str, nested: bool = False) -> None:
        self.lines.append(self.d.bullet_marks[nested] + content)

    def empty(self, sentence: str) -> None:
        self.lines.append(self.d.empty(self.d.escape(sentence)))


def _date(data: ExportData) -> str | None:
    if data.meeting.starts_at:
        return data.meeting.starts_at[:10]
    if data.questions:
        return min(q.received_at for q in data.questions)[:10]
    return None


def _asker_name(page: _Page, a: Asker, private_ids: frozenset[int]) -> str:
    if a.question in private_ids:  # asked privately, then merged into a public question
        return page.d.escape(HIDDEN_ASKER)
    return page.d.escape(one_line(public_asker(a)))


def _askers_line(page: _Page, q: Question, private_ids: frozenset[int]) -> str:
    if is_private(q):
        return f"{page.d.bold('Asked by')} {page.d.escape(HIDDEN_ASKER)}"
    names = ", ".join(f"{_asker_name(page, a, private_ids)} "
                      f"({page.text(source_label(a.source))})" for a in q.askers)
    return f"{page.d.bold('Asked by')} {names}"


def _private_ids(data: ExportData) -> frozenset[int]:
    return frozenset(q.id for q in data.questions if is_private(q))


def _intro(page: _Page, data: ExportData, answered: int, follow_up: int) -> None:
    d, m = page.d, data.meeting
    title = d.escape(m.title)
    if d is MARKDOWN:
        page.lines += [f"# {title}", ""]
        parts = []
    else:
        parts = [f"Notes of {d.bold(title)}"]
    date = _date(data)
    if date:
        parts.append(d.escape(date))
    if m.host:
        parts.append(f"hosted by {d.escape(m.host)}")
    received = len(data.questions)
    counts = (f"{received} question{'s' if received != 1 else ''} received, {answered} "
              f"answered, {follow_up} to be answered in writing.")
    page.lines.append(", ".join(parts + [d.escape(counts)]) if parts else d.escape(counts))


def _answered(page: _Page, data: ExportData) -> int:
    page.section("Answered questions")
    shown = [q for q in data.questions if confirmed(q)]
    ordered = timeline.in_answer_order(shown, data.answered_at)
    private_ids = _private_ids(data)
    for q in ordered:
        page.bullet(page.text(q.display_text))
        answerer = q.assignee or data.meeting.host
        said = f"{page.d.bold('Answered by')} {page.name(answerer)}" if answerer else \
            page.d.bold("Answered")
        if q.note:
            said += f": {page.text(q.note)}"
        page.bullet(said, nested=True)
        if data.include_askers:
            page.bullet(_askers_line(page, q, private_ids), nested=True)
    if not ordered:
        page.empty("No questions were answered.")
    return len(ordered)


def _follow_up(page: _Page, data: ExportData) -> int:
    page.section("To be answered in writing")
    pending = [q for q in data.questions if q.status is Status.FOLLOW_UP and confirmed(q)]
    private_ids = _private_ids(data)
    for q in pending:
        page.bullet(page.text(q.display_text))
        if q.assignee:
            page.bullet(f"{page.d.bold('To be answered by')} {page.name(q.assignee)}",
                        nested=True)
        if data.include_askers:
            page.bullet(_askers_line(page, q, private_ids), nested=True)
    if not pending:
        page.empty("Nothing is left to answer in writing.")
    return len(pending)


def _in_order(counts: Counter[str], order: list[str]) -> list[tuple[str, int]]:
    """Known keys in `order`, then unknown ones alphabetically."""
    rank = {key: i for i, key in enumerate(order)}
    return sorted(counts.items(), key=lambda item: (rank.get(item[0], len(order)), item[0]))


def _counts(page: _Page, data: ExportData) -> None:
    page.section("Questions received, by source")
    sources = Counter(q.source for q in data.questions)
    for source, count in _in_order(sources, [*SOURCE_LABELS]):
        page.bullet(f"{page.text(source_label(source))}: {count}")
    merged = sum(q.status is Status.MERGED for q in data.questions)
    if merged:
        page.bullet(page.d.escape(f"Merged into another question as a duplicate: {merged}"))
    if not data.questions:
        page.empty("No questions.")
    page.section("Not taken, by reason")
    reasons = Counter(reason_label(q.dismiss_reason) for q in data.questions
                      if q.status is Status.DISMISSED)
    for label, count in _in_order(reasons, [*REASON_LABELS.values(), OTHER_REASON]):
        page.bullet(f"{page.text(label)}: {count}")
    if not reasons:
        page.empty("No question was dismissed.")


def notes_page(data: ExportData, dialect: Dialect) -> str:
    page = _Page(dialect)
    body = _Page(dialect)
    answered = _answered(body, data)
    follow_up = _follow_up(body, data)
    _counts(body, data)
    _intro(page, data, answered, follow_up)
    return "\n".join(page.lines + body.lines) + "\n"
