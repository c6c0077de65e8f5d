"""Topic tags from `[triage] topics` and the `uncivil` flag, alone and through the queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.commands import Command
from aggregator.config import ConfigError, parse_config
from aggregator.model import Status
from aggregator.queue import QuestionQueue
from aggregator.triage import Rules, assess_civility, is_shouting, topic_tags
from tests.conftest import incoming, started_queue

TOPICS = {
    "Trust & Safety": ["ucoc", "harassment", "trust and safety"],
    "Grants": ["grant", "grants", "funding", "subvención"],
    "C++": ["c++"],
}


@pytest.mark.parametrize(("text", "tags"), [
    ("How is HARASSMENT handled?", ("Trust & Safety",)),
    ("Is the UCoC final, and what about grants?", ("Trust & Safety", "Grants")),
    ("¿Hay una subvencion para eventos?", ("Grants",)),        # accent-blind both ways
    ("Trust   and\nsafety team size?", ("Trust & Safety",)),   # spacing-blind phrases
    ("Any news on grantmaking?", ()),                            # whole words only
    ("Will MediaWiki move from PHP to C++?", ("C++",)),
    ("nothing to see here", ()),
])
def test_topic_keywords_match_whole_words(text: str, tags: tuple[str, ...]) -> None:
    assert topic_tags(text, TOPICS) == tags
    assert Rules(TOPICS).assess(text, "youtube").tags == tags


async def test_topics_tag_at_ingestion_and_moderators_replace_them(db_path: Path) -> None:
    async with started_queue(db_path, triage=Rules(TOPICS)) as queue:
        q = (await queue.submit(incoming(1, "What funding exists for harassment research?"))
             ).question
        assert q.tags == ("Trust & Safety", "Grants")
        [changed] = await queue.apply(
            Command(op="tag", question=q.id, args={"tags": ["Research"]}), "mod")
        assert changed.tags == ("Research",)
    # the rules never run again over a moderator's tags
    async with started_queue(db_path, triage=Rules(TOPICS)) as queue:
        assert queue.get(q.id).tags == ("Research",)  # type: ignore[union-attr]


def test_config_rejects_a_topic_without_keywords() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config('[triage]\ntopics = { "Grants" = [] }\n', "t.toml")
    assert "topics" in str(err.value)
    with pytest.raises(ConfigError):
        parse_config('[triage]\nuncivil_words = ["ok", " "]\n', "t.toml")
    config = parse_config('[triage]\nuncivil_words = ["dolt"]\n', "t.toml")
    assert config.triage.uncivil_words == ["dolt"]


@pytest.mark.parametrize("text", [
    "you are an idiot", "What a PATHETIC answer", "Stuuupid decision, why?",
    "shut up and answer", "i d i o t", "liars, all of you",
])
def test_insults_from_the_default_list_are_uncivil(text: str) -> None:
    assert assess_civility(text).uncivil
    assert "uncivil" in Rules().assess(text, "zoom").flags


@pytest.mark.parametrize("text", [
    "Why did the board idle on this?", "Is the foolproof setup guide translated?",
    "How do we stop sock puppets?", "WMF", "Is the UCOC final?", "ok THANKS",
])
def test_ordinary_questions_are_not_uncivil(text: str) -> None:
    rules = Rules()
    assert "uncivil" not in rules.assess(text, "zoom").flags, text


def test_shouting_in_capitals_is_uncivil_but_case_free_scripts_never_shout() -> None:
    assert is_shouting("WHY DO YOU IGNORE SMALL WIKIS EVERY SINGLE TIME")
    assert "uncivil" in Rules().assess("WHY DO YOU IGNORE SMALL WIKIS?!", "youtube").flags
    assert not is_shouting("UCOC and WMF and NASA?")      # acronyms in a short line
    assert not is_shouting("Why does the WMF ignore the UCOC feedback from small wikis?")
    assert not is_shouting("لماذا تتجاهلون الويكيات الصغيرة دائما؟")


def test_repeated_insults_are_counted() -> None:
    assert assess_civility("idiot idiot IDIOT").insults == 3
    assert assess_civility("you clown, you liar").insults == 2
    assert assess_civility("a fine question").insults == 0


def test_the_word_list_is_configurable() -> None:
    custom = Rules(uncivil_words=["dolt", "shame on you"])
    assert "uncivil" in custom.assess("what a dolt", "email").flags
    assert "uncivil" in custom.assess("Shame on   you!", "email").flags
    assert "uncivil" not in custom.assess("you idiot", "email").flags  # replaced, not extended
    assert "uncivil" not in Rules(uncivil_words=[]).assess("you idiot", "email").flags


async def test_the_uncivil_flag_never_dismisses(queue: QuestionQueue) -> None:
    queue.triage = Rules()
    rude = (await queue.submit(incoming(1, "WHY ARE YOU ALL SUCH IDIOTS, ANSWER ME"))).question
    assert "uncivil" in rude.flags
    assert (rude.status, rude.dismiss_reason) == (Status.NEW, None)
    [approved] = await queue.apply(Command(op="approve", question=rude.id), "mod")
    assert approved.status is Status.QUEUED and "uncivil" in approved.flags


async def test_the_runtime_builds_its_rules_from_the_triage_section(tmp_path: Path) -> None:
    from townhall.runtime import Runtime

    config = parse_config(
        f'[store]\npath = "{tmp_path / "t.db"}"\n[triage]\nuncivil_words = ["dolt"]\n'
        'topics = { "Grants" = ["grant"] }\n', str(tmp_path / "t.toml"))
    async with Runtime(config, collectors=[], serve=False) as rt:
        q = (await rt.queue.submit(incoming(1, "what a dolt, where is my grant?"))).question
        assert "uncivil" in q.flags and q.tags == ("Grants",)
