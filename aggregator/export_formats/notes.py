"""The notes page published after the call, in Markdown or MediaWiki wikitext.

Layout: a heading with the meeting's title and date (the day the recording started or the
first question went live; else `[meeting] starts_at`), who hosted, the recording, and how many
messages came in against how many questions were taken (chat greetings are messages, not
questions). Then the answered questions in the order they were answered, each with its time in
the recording (linked to that second on YouTube), the wording the host read, who answered
(named once for a run of answers by the same person) and the answer note; "To be answered in
writing" with each follow-up question and, once written, its answer (the question's note);
messages per source, duplicates merged, and dismissals per reason (never the dismissed text).
`group_by="topic"` puts the questions under their first tag. Askers are named only with
`--include-askers` or `[export] include_askers`.

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
from .recording import clock
from .escaping import markdown_escape, wikitext_escape
from .labels import OTHER_REASON, REASON_LABELS, SOURCE_LABELS, reason_label, source_label

if TYPE_CHECKING:  # aggregator.export imports this module
    from ..export import ExportData

#: the groupings a notes page knows (None: one list in answer order)
GROUPINGS = (None, "topic")
NO_TOPIC = "Other questions"

@dataclass(frozen=True)
class Dialect:
    name: str
    escape: Callable[[str], str]
    heading: Callable[[str], str]  # a section heading from already escaped text
    bold: Callable[[str], str]
    bullet_marks: tuple[str, str]  # top-level and nested bullet prefixes
    empty: Callable[[str], str]  # a "nothing here" line
    title: Callable[[str], str]  # the page's heading
    subheading: Callable[[str], str]  # a topic inside a section
    link: Callable[[str, str], str]  # (address we built or validated, escaped label)
    address: Callable[[str], str]  # an address we built or validated, shown as itself


MARKDOWN = Dialect(
    name="markdown", escape=markdown_escape, heading=lambda t: f"## {t}",
    bold=lambda t: f"**{t}**", bullet_marks=("- ", "  - "), empty=lambda t: f"_{t}_",
    title=lambda t: f"# {t}", subheading=lambda t: f"### {t}",
    link=lambda url, label: f"[{label}]({url})", address=lambda url: f"<{url}>",
)
WIKITEXT = Dialect(
    name="wikitext", escape=wikitext_escape, heading=lambda t: f"== {t} ==",
    bold=lambda t: f"'''{t}'''", bullet_marks=("* ", "** "), empty=lambda t: f"''{t}''",
    title=lambda t: f"= {t} =", subheading=lambda t: f"=== {t} ===",
    link=lambda url, label: f"[{url} {label}]", address=lambda url: url,
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

    def subsection(self, raw_title: str) -> None:
        self.lines += ["", self.d.subheading(self.text(raw_title)), ""]

    def bullet(self, content: str, nested: bool = False) -> None:
        self.lines.append(self.d.bullet_marks[nested] + content)

    def empty(self, sentence: str) -> None:
        self.lines.append(self.d.empty(self.d.escape(sentence)))


def _date(data: ExportData) -> str | None:
    """The meeting's day, from the meeting itself where it can: a store reused for another
    meeting must not carry the config's date onto it."""
    if data.recording.start is not None:
        return data.recording.start.date().isoformat()
    if data.meeting.starts_at:
        return data.meeting.starts_at[:10]
    if data.questions:
        return min(q.received_at for q in data.questions)[:10]
    return None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


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
    date = _date(data)
    page.lines += [d.title(d.escape(f"{m.title}, {date}" if date else m.title)), ""]
    parts = [f"Hosted by {d.escape(m.host)}."] if m.host else []
    counts = (f"{_plural(len(data.questions), 'message')}, "
              f"{_plural(answered + follow_up, 'question')} taken: {answered} answered, "
              f"{follow_up} to be answered in writing.")
    page.lines.append(" ".join([*parts, d.escape(counts)]))
    if data.recording.url:
        page.lines += ["", f"Recording: {d.address(data.recording.url)}"]


def _groups(page: _Page, data: ExportData, questions: list[Question]
            ) -> list[tuple[str | None, list[Question]]]:
    """The questions as one group, or per topic (first tag) in the order topics first
    appear, the untagged last."""
    if data.group_by != "topic":
        return [(None, questions)]
    groups: dict[str, list[Question]] = {}
    for q in questions:
        groups.setdefault(q.tags[0] if q.tags else "", []).append(q)
    untagged = groups.pop("", [])
    result: list[tuple[str | None, list[Question]]] = list(groups.items())
    if untagged:
        result.append((NO_TOPIC, untagged))
    return result


def _time(page: _Page, data: ExportData, q: Question) -> str:
    """`[00:12:34](link) ` before the wording: when the question went live in the recording."""
    seconds = data.recording.offset(data.went_live_at.get(q.id))
    if seconds is None:
        return ""
    label = page.d.escape(clock(seconds))
    link = data.recording.link(seconds)
    return (page.d.link(link, label) if link else label) + " "


def _answered(page: _Page, data: ExportData) -> int:
    page.section("Answered questions")
    shown = [q for q in data.questions if confirmed(q)]
    ordered = timeline.in_answer_order(shown, data.answered_at)
    private_ids = _private_ids(data)
    for topic, questions in _groups(page, data, ordered):
        if topic is not None:
            page.subsection(topic)
        previous: str | None = None
        for q in questions:
            page.bullet(_time(page, data, q) + page.text(q.display_text))
            answerer = q.assignee or data.meeting.host
            note = page.text(q.note) if q.note else ""
            if answerer and answerer != previous:  # named once for a run of their answers
                said = f"{page.d.bold('Answered by')} {page.name(answerer)}"
                page.bullet(f"{said}: {note}" if note else said, nested=True)
            elif note:
                page.bullet(note, nested=True)
            previous = answerer
            if data.include_askers:
                page.bullet(_askers_line(page, q, private_ids), nested=True)
    if not ordered:
        page.empty("No questions were answered.")
    return len(ordered)


def _follow_up(page: _Page, data: ExportData) -> int:
    page.section("To be answered in writing")
    pending = [q for q in data.questions if q.status is Status.FOLLOW_UP and confirmed(q)]
    private_ids = _private_ids(data)
    for topic, questions in _groups(page, data, pending):
        if topic is not None:
            page.subsection(topic)
        for q in questions:
            page.bullet(page.text(q.display_text))
            if q.assignee:
                page.bullet(f"{page.d.bold('To be answered by')} {page.name(q.assignee)}",
                            nested=True)
            if q.note:  # the written answer, once someone wrote it
                page.bullet(f"{page.d.bold('Written answer:')} {page.text(q.note)}",
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
    page.section("Messages received, by source")
    sources = Counter(q.source for q in data.questions)
    for source, count in _in_order(sources, [*SOURCE_LABELS]):
        page.bullet(f"{page.text(source_label(source))}: {count}")
    if not data.questions:
        page.empty("No messages.")
    merged = sum(q.status is Status.MERGED for q in data.questions)
    if merged:  # asked again: their askers joined the question they repeat
        page.lines += ["", page.d.escape(
            f"{_plural(merged, 'message')} asked a question again and "
            f"{'was' if merged == 1 else 'were'} merged into it.")]
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
