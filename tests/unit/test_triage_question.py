"""likely_question on the labelled chat lines in tests/data, and on the cues one by one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.triage import QUESTION_THRESHOLD, likely_question
from tests.support.triage_data import TUNED, held_out, labelled_lines, precision_recall


def test_the_labelled_set_is_big_and_varied() -> None:
    lines = labelled_lines()
    assert len(lines) >= 300
    langs = {line.lang for line in lines}
    assert {"en", "es", "fr", "de", "pt", "it", "nl", "id", "hi", "ar"} <= langs
    assert sum(line.question for line in lines) > 100
    assert sum(not line.question for line in lines) > 100
    assert len({line.text for line in lines}) == len(lines), "no line twice"


def test_precision_and_recall_in_english_meet_the_targets() -> None:
    english = [line for line in labelled_lines() if line.lang == "en"]
    precision, recall = precision_recall(english)
    assert precision >= 0.9, precision
    assert recall >= 0.85, recall


def test_precision_and_recall_overall_meet_the_targets() -> None:
    precision, recall = precision_recall(labelled_lines())
    assert precision >= 0.8, precision
    assert recall >= 0.75, recall


def test_the_held_out_lines_also_meet_the_overall_targets() -> None:
    lines = [line for line in labelled_lines() if line.file not in TUNED]
    assert lines == held_out() and len(lines) >= 50
    precision, recall = precision_recall(lines)
    assert precision >= 0.8 and recall >= 0.75, (precision, recall)


@pytest.mark.parametrize("text", [
    "Is the session recorded?",
    "Q: budget for hubs",
    "question: timeline of the charter vote",
    "Can you explain the grant rules",
    "Please tell us about the new office",
    "I'd like to know who approves the budget",
    "¿Cuándo empieza la votación?",
    "Wann beginnt die Wahl",
    "Πότε αρχίζει η ψηφοφορία;",      # the Greek question mark is ";"
    "التصويت متى يبدأ؟",
    "投票はいつ始まりますか？",          # full-width question mark
    "Hi Maggie, how do grants work",
])
def test_each_question_cue_is_enough(text: str) -> None:
    assert likely_question(text) >= QUESTION_THRESHOLD, text


@pytest.mark.parametrize("text", [
    "hello from India!", "thanks!", "+1", "👏👏👏", "great point", "???", "",
    "What a great answer!", "lol", "Agreed; well said",  # ";" outside Greek text is no mark
    "anyone else hearing an echo?",
])
def test_greetings_reactions_and_audio_checks_score_low(text: str) -> None:
    assert likely_question(text) < QUESTION_THRESHOLD, text


def test_a_question_outscores_the_same_words_as_chatter() -> None:
    assert likely_question("what is the plan for hubs?") > likely_question("the plan for hubs")
    assert likely_question("Thanks! What is next?") > likely_question("Thanks! That was great.")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_scores_between_zero_and_one(text: str) -> None:
    assert 0.0 <= likely_question(text) <= 1.0


def test_very_long_and_hostile_text_is_scored_without_error() -> None:
    hostile = "\x1b[2J[bold]why\u202e" + "a" * 50_000 + "?"
    assert 0.0 <= likely_question(hostile) <= 1.0
