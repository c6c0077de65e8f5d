"""What the public notes (markdown, wikitext) may show, against what the moderators' exports
(JSON, CSV) keep: a matrix of sensitive data x format, on a store filled through the real queue
from real parsed mail and chat messages."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from aggregator import export
from aggregator.collectors.email_parse import evaluate
from aggregator.commands import Command
from aggregator.export_formats import chapters
from aggregator.config import Config, parse_config
from aggregator.model import Author, Incoming
from aggregator.privacy import HIDDEN_ASKER, find_addresses
from aggregator.queue import QuestionQueue
from aggregator.store import Store
from tests.support.email_helpers import RULES

CONFIG = """
[meeting]
title = "Conversation with Maggie"
starts_at = "2022-11-10T14:00:00Z"
host = "Maggie"
recording_started_at = "2022-11-10T14:00:00Z"
"""


@dataclass(frozen=True)
class Datum:
    """One kind of sensitive datum: what must never reach a public page, what a public page
    still shows of it, and what the moderators' exports keep."""

    secret: tuple[str, ...]
    public: tuple[str, ...] = ()
    public_with_askers: tuple[str, ...] = ()
    json: tuple[str, ...] = ()
    csv: tuple[str, ...] = ()


MATRIX = {
    "address-only sender": Datum(
        secret=("jane.secret@example.org", "example.org"),
        public=("How is the budget decided?",), public_with_askers=("jane.s. (Email)",),
        json=("jane.secret@example.org",), csv=("How is the budget decided?",)),
    "address as display name": Datum(
        secret=("olga@example.org",),
        public=("When is the next call?",), public_with_askers=("olga (Email)",),
        json=("olga@example.org",), csv=("When is the next call?",)),
    "address as chat name": Datum(
        secret=("kim.hidden@example.org",),
        public=("Is the API free?",), public_with_askers=("kim.h. (Zoom chat)",),
        json=("kim.hidden@example.org",), csv=("kim.hidden@example.org",)),
    "address in the wording": Datum(
        secret=("reply.to@example.org",),
        public=("Can I get the slides? write to", "address removed"),
        json=("reply.to@example.org",), csv=("reply.to@example.org",)),
    "private unconfirmed": Datum(
        secret=("a private note", "my account was blocked", "Grace"),
        json=("a private note", "Grace"), csv=("a private note", "Grace")),
    "private confirmed": Datum(
        secret=("Heidi",), public=("Could the board publish its minutes?",),
        public_with_askers=(f"Asked by** {HIDDEN_ASKER}", f"Asked by''' {HIDDEN_ASKER}"),
        json=("Heidi",), csv=("Heidi",)),
    "author id": Datum(
        secret=("UCsecretChannel42", "16778242"), public=("Will sessions be recorded?",),
        public_with_askers=("DevFan (YouTube chat)",),
        json=("UCsecretChannel42", "16778242")),
    "dismissed question's note": Datum(
        secret=("call Hal back on +49 30 1234", "my neighbour's case"),
        json=("call Hal back on +49 30 1234",), csv=("call Hal back on +49 30 1234",)),
}


def mail(from_header: str, body: str, message_id: str) -> Incoming:
    raw = (f"From: {from_header}\r\nTo: answers@example.org\r\nSubject: Question for Maggie\r\n"
           f"Message-ID: <{message_id}@example.org>\r\n"
           f"Date: Tue, 08 Nov 2022 09:12:00 +0000\r\n\r\n{body}\r\n").encode()
    incoming = evaluate(raw, RULES).incoming
    assert incoming is not None
    return incoming


def chat(ext: str, name: str, ident: str, text: str, source: str = "zoom",
         flags: tuple[str, ...] = ()) -> Incoming:
    return Incoming(source=source, external_id=ext, author=Author(name=name, id=ident),
                    text=text, flags=flags)


async def fill(path: Path) -> None:
    store = Store(path).open()
    try:
        queue = QuestionQueue(store)
        await queue.start()

        async def cmd(op: str, qid: int, **args: object) -> None:
            await queue.apply(Command(op=op, question=qid, args=args), "Simona")

        async def answered(incoming: Incoming, note: str | None = None) -> int:
            qid = (await queue.submit(incoming)).question.id
            await cmd("approve", qid)
            await cmd("go_live", qid)
            await cmd("answered", qid)
            if note:
                await cmd("note", qid, note=note)
            return qid

        async def follow_up(incoming: Incoming) -> int:
            qid = (await queue.submit(incoming)).question.id
            if "private" not in incoming.flags:  # a private one goes there unconfirmed
                await cmd("approve", qid)
            await cmd("follow_up", qid)
            return qid

        await answered(mail("jane.secret@example.org", "How is the budget decided?", "m1"))
        await follow_up(mail('"olga@example.org" <olga@example.org>',
                             "When is the next call?", "m2"))
        await answered(chat("z1", "kim.hidden@example.org", "16778240", "Is the API free?"))
        await answered(chat("z2", "Lena", "16778241",
                            "Can I get the slides? write to reply.to@example.org."))
        await follow_up(chat("z3", "Grace", "16778244",
                             "Maggie, a private note: my account was blocked.",
                             flags=("private",)))
        await answered(chat("z4", "Heidi", "16778243", "Could the board publish its minutes?",
                            flags=("private", "private_confirmed")), note="Yes, monthly.")
        await answered(chat("y1", "DevFan", "UCsecretChannel42", "Will sessions be recorded?",
                            source="youtube"))
        await answered(chat("z5", "Ivan", "16778242", "What about the survey?"))
        dismissed = (await queue.submit(chat("z6", "Hal", "16778245",
                                             "What about my neighbour's case?"))).question.id
        await cmd("note", dismissed, note="call Hal back on +49 30 1234")
        await cmd("dismiss", dismissed, reason="case_specific")
        await queue.flush()
    finally:
        store.close()


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, config: Config) -> dict[str, str]:
    path = tmp_path_factory.mktemp("privacy") / "townhall.db"
    asyncio.run(fill(path))
    store = Store(path, exclusive=False).open()
    try:
        pages = {fmt: export.render(store, config, fmt)[0].decode()
                 for fmt in ("json", "csv", "markdown", "wikitext")}
        for fmt in ("markdown", "wikitext"):
            pages[f"{fmt}+askers"] = export.render(store, config, fmt,
                                                   include_askers=True)[0].decode()
        with pytest.MonkeyPatch.context() as mp:  # the questions went live a moment apart
            mp.setattr(chapters, "MIN_SECONDS", 0)
            pages["chapters"] = export.render(store, config, "chapters")[0].decode()
    finally:
        store.close()
    return pages


PUBLIC = ["markdown", "wikitext", "markdown+askers", "wikitext+askers"]


@pytest.mark.parametrize("page", PUBLIC)
@pytest.mark.parametrize("kind", MATRIX)
def test_public_notes_leave_the_datum_out(rendered: dict[str, str], kind: str,
                                          page: str) -> None:
    datum, text = MATRIX[kind], rendered[page]
    for secret in datum.secret:
        assert secret not in text, f"{secret!r} leaked into {page}"
    for shown in datum.public:
        assert shown in text, f"{shown!r} missing from {page}"
    if page.endswith("+askers") and datum.public_with_askers:
        assert any(shown in text for shown in datum.public_with_askers), text


@pytest.mark.parametrize("page", PUBLIC)
def test_no_address_at_all_on_a_public_page(rendered: dict[str, str], page: str) -> None:
    assert not find_addresses(rendered[page])


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("kind", MATRIX)
def test_moderator_exports_keep_the_datum(rendered: dict[str, str], kind: str,
                                          fmt: str) -> None:
    for kept in getattr(MATRIX[kind], fmt):
        assert kept in rendered[fmt], f"{kept!r} missing from {fmt}"


def test_the_answer_note_of_a_confirmed_private_question_is_published(
        rendered: dict[str, str]) -> None:
    assert "Yes, monthly." in rendered["markdown"]
    assert f"**Asked by** {HIDDEN_ASKER}" in rendered["markdown+askers"]
    assert f"'''Asked by''' {HIDDEN_ASKER}" in rendered["wikitext+askers"]


@pytest.mark.parametrize("kind", MATRIX)
def test_chapters_leave_the_datum_out(rendered: dict[str, str], kind: str) -> None:
    for secret in MATRIX[kind].secret:
        assert secret not in rendered["chapters"], f"{secret!r} leaked into chapters"


def test_chapters_show_the_answered_public_wording_without_any_address(
        rendered: dict[str, str]) -> None:
    text = rendered["chapters"]
    assert not find_addresses(text)
    assert text.startswith("00:00 Introduction\n")
    for shown in ("How is the budget decided?", "Is the API free?",
                  "Can I get the slides? write to [address removed].",
                  "Could the board publish its minutes?", "Will sessions be recorded?"):
        assert shown in text
    assert "When is the next call?" not in text  # a follow-up is not a chapter
