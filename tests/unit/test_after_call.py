"""After the call: `end_meeting` and `recording_started` through the real queue and store, the
recording's start and links, chapters, and the notes page's structure (rendered with a real
CommonMark parser)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest
from markdown_it import MarkdownIt

from aggregator import export
from aggregator.commands import Command, CommandError
from aggregator.config import ConfigError, parse_config
from aggregator.export_formats.chapters import ChaptersError, chapters, timestamp, title
from aggregator.export_formats.recording import clock, find_recording
from aggregator.model import Status
from aggregator.queue import QuestionQueue
from aggregator.store import SCHEMA_VERSION, Store
from tests.conftest import incoming, townhall


async def cmd(queue: QuestionQueue, op: str, question: int | None = None,
              **args: object) -> list:
    return await queue.apply(Command(op=op, question=question, args=args), "Simona")


async def meeting(queue: QuestionQueue) -> None:
    """#1 answered, #2 live, #3 and #4 queued, #5 new, #6 dismissed, #7 follow-up."""
    for n in range(1, 8):
        await queue.submit(incoming(n, text=f"Question {n}?"))
    for qid in (1, 2, 3, 4, 7):
        await cmd(queue, "approve", qid)
    await cmd(queue, "go_live", 1)
    await cmd(queue, "answered", 1)
    await cmd(queue, "go_live", 2)
    await cmd(queue, "dismiss", 6, reason="spam")
    await cmd(queue, "follow_up", 7)


def statuses(queue: QuestionQueue) -> dict[int, Status]:
    return {q.id: q.status for q in queue.all()}


async def test_end_meeting_moves_exactly_the_live_and_queued_and_undo_brings_them_back(
        queue: QuestionQueue) -> None:
    await meeting(queue)
    before = {q.id: q for q in queue.all()}
    changed = await cmd(queue, "end_meeting")
    assert sorted(q.id for q in changed) == [2, 3, 4]
    assert statuses(queue) == {1: Status.ANSWERED, 2: Status.FOLLOW_UP, 3: Status.FOLLOW_UP,
                               4: Status.FOLLOW_UP, 5: Status.NEW, 6: Status.DISMISSED,
                               7: Status.FOLLOW_UP}
    assert queue.host_ids() == [] and queue.live_id() is None
    ended = queue.store.meeting()["ended_at"]
    assert queue.store.last_command("Simona").op == "end_meeting"  # in the audit log
    assert [h.action for h in queue.history(3)][-1] == "follow_up"

    await cmd(queue, "undo")
    for q in queue.all():
        old = before[q.id]
        assert msgspec.structs.replace(q, version=0) == msgspec.structs.replace(old, version=0)
    assert queue.live_id() == 2 and queue.host_ids() == [3, 4]
    assert "ended_at" not in queue.store.meeting() and ended


async def test_the_answer_and_go_live_times_are_fields(queue: QuestionQueue) -> None:
    await meeting(queue)
    one, two = queue.get(1), queue.get(2)
    assert one.went_live_at and one.answered_at and one.went_live_at <= one.answered_at
    assert two.went_live_at and two.answered_at is None
    assert queue.get(5).went_live_at is None
    await cmd(queue, "next")  # #2 answered, #3 live
    assert queue.get(2).answered_at and queue.get(3).went_live_at


async def test_recording_started_now_at_a_time_and_from_youtube(queue: QuestionQueue) -> None:
    await cmd(queue, "recording_started")
    assert set(queue.store.meeting()) == {"recording_started_at"}
    await cmd(queue, "recording_started", at="2022-11-10T15:00:05+01:00")
    assert queue.store.meeting()["recording_started_at"] == "2022-11-10T14:00:05.000Z"
    commands = queue.store.max_command_id()
    await cmd(queue, "recording_started", at="2022-11-10T14:00:05Z")  # the same: no write
    assert queue.store.max_command_id() == commands
    await cmd(queue, "recording_started", at="2022-11-10T13:59:00Z", source="youtube")
    assert queue.store.meeting() == {"recording_started_at": "2022-11-10T14:00:05.000Z",
                                     "stream_started_at": "2022-11-10T13:59:00.000Z"}
    await cmd(queue, "undo")
    assert "stream_started_at" not in queue.store.meeting()
    for bad in ("yesterday", 12, "x" * 100):
        with pytest.raises(CommandError, match="ISO-8601"):
            await cmd(queue, "recording_started", at=bad)
    with pytest.raises(CommandError, match="source"):
        await cmd(queue, "recording_started", source="zoom")
    with pytest.raises(CommandError, match="names no question"):
        await queue.apply(Command(op="end_meeting", question=1), "Simona")


def test_only_a_moderator_may_end_the_meeting() -> None:
    Command.sent_by("moderator", "end_meeting", None, {}, None)
    Command.sent_by("moderator", "recording_started", None, {"at": None}, None)
    for role in ("host", "overlay"):
        for op in ("end_meeting", "recording_started"):
            with pytest.raises(CommandError) as refused:
                Command.sent_by(role, op, None, {}, None)
            assert refused.value.code == "forbidden"


def test_a_schema_2_store_gains_the_meeting_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    from aggregator.store import MIGRATIONS

    for version in (1, 2):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 3
        assert store.meeting() == {}


# --- the recording -----------------------------------------------------------------------

def test_the_recordings_start_prefers_the_moderators_mark() -> None:
    facts = {"recording_started_at": "2022-11-10T14:00:10Z",
             "stream_started_at": "2022-11-10T14:00:00Z"}
    lives = ["2022-11-10T14:05:00Z"]
    video = "https://youtu.be/dQw4w9WgXcQ"
    found = find_recording("", video, "2022-11-10T14:00:20Z", facts, lives)
    assert found.start_source == "marked by a moderator"
    assert found.url == video and found.video_id == "dQw4w9WgXcQ"
    assert found.offset("2022-11-10T14:12:44Z") == 754
    assert found.link(754) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=754s"
    assert clock(754) == "00:12:34" and clock(3 * 3600 + 5) == "03:00:05"
    stream = {"stream_started_at": "2022-11-10T14:00:00Z"}
    assert find_recording("", video, "2022-11-10T14:00:20Z", stream,
                          lives).start_source == "[meeting] recording_started_at"
    assert find_recording("", video, None, {"stream_started_at": "2022-11-10T14:00:00Z"},
                          lives).start_source == "the YouTube stream's start"
    first = find_recording("", "dQw4w9WgXcQ", None, {}, lives)
    assert first.start_source == "the first question taken live"
    assert first.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert first.offset("2022-11-10T14:04:00Z") is None  # before the start: no time
    elsewhere = find_recording("https://video.example.org/m/1", video, None, {}, lives)
    assert elsewhere.video_id is None and elsewhere.link(10) is None


def test_recording_config_keys_are_checked() -> None:
    config = parse_config('[meeting]\nrecording_url = "https://example.org/r"\n'
                          'recording_started_at = "2022-11-10T14:00:05Z"\n')
    assert config.meeting.recording_url == "https://example.org/r"
    with pytest.raises(ConfigError, match="recording_started_at"):
        parse_config('[meeting]\nrecording_started_at = "soon"\n')
    with pytest.raises(ConfigError, match="recording_url"):
        parse_config('[meeting]\nrecording_url = "javascript:alert(1)"\n')


# --- chapters and the notes page ------------------------------------------------------------

CONFIG = """
[meeting]
title = "Conversation with Maggie"
starts_at = "2022-12-01T14:00:00Z"
host = "Maggie"

[youtube]
video = "dQw4w9WgXcQ"
"""


async def _answered_at(queue: QuestionQueue, moments: list[str], tags: list[str]) -> None:
    """Questions answered one after another, each going live at the given moment."""
    import aggregator.decisions as decisions

    for n, (moment, tag) in enumerate(zip(moments, tags), start=1):
        qid = (await queue.submit(incoming(f"c{n}", text=f"{n}) Question <{n}>?"))).question.id
        await cmd(queue, "approve", qid)
        if tag:
            await cmd(queue, "tag", qid, tags=[tag])
        original = decisions.utc_now
        decisions.utc_now = lambda moment=moment: moment  # type: ignore[assignment]
        try:
            await cmd(queue, "go_live", qid)
            await cmd(queue, "answered", qid)
        finally:
            decisions.utc_now = original  # type: ignore[assignment]


async def render(queue: QuestionQueue, fmt: str, config: str = CONFIG, **kw: object) -> str:
    await queue.flush()
    with Store(queue.store.path, exclusive=False) as reader:
        payload, _ = export.render(reader, parse_config(config), fmt, **kw)  # type: ignore[arg-type]
        return payload.decode()


async def test_too_few_chapters_are_refused_with_the_reason(queue: QuestionQueue) -> None:
    await cmd(queue, "recording_started", at="2022-11-10T14:00:00Z")
    await _answered_at(queue, ["2022-11-10T14:05:00.000Z", "2022-11-10T14:05:04.000Z"], ["", ""])
    with pytest.raises(export.ExportError) as refused:
        await render(queue, "chapters")
    message = str(refused.value)
    assert "only 2 chapters" in message and "at least 3" in message
    assert "#2: within 10 s" in message


async def test_chapters_start_at_zero_and_stay_ten_seconds_apart(queue: QuestionQueue) -> None:
    await cmd(queue, "recording_started", at="2022-11-10T14:00:00Z")
    await _answered_at(queue, ["2022-11-10T14:00:03.000Z", "2022-11-10T14:00:09.000Z",
                               "2022-11-10T14:12:34.000Z", "2022-11-10T15:02:03.000Z"],
                       ["", "", "", ""])
    lines = (await render(queue, "chapters")).splitlines()
    assert lines == ["00:00 1) Question ‹1›?", "12:34 3) Question ‹3›?",
                     "1:02:03 4) Question ‹4›?"]


def test_chapter_titles_are_one_public_line_cut_to_fit() -> None:
    assert title("Write to ana@example.org\nplease <b>") == (
        "Write to [address removed] please ‹b›")
    long = title("word " * 40)
    assert len(long) == 80 and long.endswith("…")
    assert timestamp(0) == "00:00" and timestamp(3599) == "59:59" and timestamp(3600) == "1:00:00"


def test_chapters_without_any_start_say_how_to_set_one() -> None:
    data = export.ExportData(meeting=parse_config(CONFIG).meeting, questions=[])
    with pytest.raises(ChaptersError, match="recording_started"):
        chapters(data)


async def test_notes_markdown_renders_links_and_no_list_from_user_text(
        queue: QuestionQueue) -> None:
    await cmd(queue, "recording_started", at="2022-11-10T14:00:00Z")
    await _answered_at(queue, ["2022-11-10T14:00:30.000Z", "2022-11-10T14:12:34.000Z"],
                       ["", ""])
    page = await render(queue, "markdown")
    # the date is the meeting's own (the recording's start), not [meeting] starts_at
    assert page.startswith("# Conversation with Maggie, 2022-11-10\n")
    html = MarkdownIt("commonmark").render(page)
    assert "<ol" not in html  # neither `1)` nor `10)` became a numbered list
    assert ('<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ&amp;t=754s">00:12:34</a> '
            "2) Question &lt;2&gt;?") in html
    assert html.count("Answered by") == 1  # one run of answers by the host
    assert "2 messages, 2 questions taken: 2 answered, 0 to be answered in writing." in page


async def test_notes_group_by_topic(queue: QuestionQueue) -> None:
    await cmd(queue, "recording_started", at="2022-11-10T14:00:00Z")
    await _answered_at(queue, ["2022-11-10T14:01:00.000Z", "2022-11-10T14:02:00.000Z",
                               "2022-11-10T14:03:00.000Z"], ["Grants", "", "Grants"])
    page = await render(queue, "markdown", group_by="topic")
    assert page.index("### Grants") < page.index("1\\) Question") < page.index(
        "3\\) Question") < page.index("### Other questions") < page.index("2\\) Question")
    wiki = await render(queue, "wikitext", group_by="topic")
    assert wiki.startswith("= Conversation with Maggie, 2022-11-10 =\n")
    assert "=== Grants ===" in wiki
    with pytest.raises(export.ExportError, match="grouping"):
        await render(queue, "markdown", group_by="colour")


def test_chapters_cli_exits_non_zero_with_the_reason_on_stderr(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    Store(db).open().close()
    config = tmp_path / "townhall.toml"
    config.write_text(CONFIG)
    proc = townhall("export", "--config", str(config), "--store", str(db), "--format",
                    "chapters")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "recording's start is unknown" in proc.stderr


@pytest.mark.parametrize("text", ["1) first", "10) tenth", "3. third", "  7) indented"])
def test_markdown_escapes_every_ordered_list_marker(text: str) -> None:
    from aggregator.export_formats.escaping import markdown_escape

    for page in (markdown_escape(text), "- " + markdown_escape(text)):
        html = MarkdownIt("commonmark").render(page)
        assert "<ol" not in html and text.strip() in html.replace("\\", "")
