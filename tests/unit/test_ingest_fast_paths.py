"""The shortcuts taken for ingestion and export speed give the same results as the long way.

Each shortcut (benchmarks `zoom` and `export`) is checked against the computation it replaces:
clean_text's no-op detection, normalise's ASCII path, the bounded fuzzy window of duplicate
hints, the batched JSON export and the history read that skips detail-less entries.
"""

from __future__ import annotations

import unicodedata

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import export, sanitize
from aggregator.commands import Command
from aggregator.config import parse_config
from aggregator.model import Author, Hint, Question, Status
from aggregator.queue import QuestionQueue
from aggregator.triage import DuplicateIndex
from aggregator.triage.text import normalise
from tests.conftest import incoming

# characters that exercise every branch: controls, line breaks, bidi, composing accents,
# compatibility forms, lone surrogates, Unicode spaces
TRICKY = st.text(alphabet=st.sampled_from(list(
    "ab Z\t\n\r\x0b\x0c\x85\u2028\x00\x1f\x7f\u202e\u200b\ufeff\ud800e\u0301\u00e9\u212b"
    "\uff21\u3000\u00a0\u0915\u093f=-")), max_size=14)


def clean_text_long_way(text: str, max_length: int) -> str:
    text = sanitize._LINE_BREAKS.sub("\n", text)
    text = sanitize._UNWANTED.sub("", text)
    text = unicodedata.normalize("NFC", text)
    return sanitize._cap(sanitize._UNWANTED.sub("", text).strip(), max_length)


@settings(max_examples=400, deadline=None)
@given(TRICKY, st.sampled_from([5_000, 6, 1]))
def test_clean_text_fast_path_matches_the_full_cleaning(text: str, cap: int) -> None:
    assert sanitize.clean_text(text, cap) == clean_text_long_way(text, cap)


def test_clean_text_fast_path_still_caps_and_strips() -> None:
    assert sanitize.clean_text("  plain question?  ") == "plain question?"
    assert sanitize.clean_text("abcdefgh", 5) == "abcd…"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_normalise_ascii_path_matches_the_general_one(text: str) -> None:
    general = unicodedata.normalize("NFC", " ".join(
        unicodedata.normalize("NFKD", text.casefold()).split()))
    assert normalise(text) == general


def question(qid: int, text: str, status: Status = Status.NEW) -> Question:
    return Question(id=qid, source="zoom", external_id=f"m{qid}", text=text, status=status,
                    author=Author(name="A", id="a"), received_at="2024-01-01T00:00:00.000Z")


def test_an_old_question_is_found_by_its_discriminating_words_at_any_age() -> None:
    index = DuplicateIndex(window=3, common=2)
    index.track(question(1, "How will the new funding strategy affect small affiliates?"))
    index.track(question(2, "Will the slides be shared after the call?"))
    for qid in range(3, 9):
        index.track(question(qid, f"Unrelated topic number {qid} about gardening"))
    assert len(index) == 8 and 1 in index
    # question 1 is far older than the newest three, yet "funding" and "affiliates" are rare
    # words that pick it as a candidate: the emailed-in-advance case
    assert [h.id for h in index.hints(
        "What does the new funding strategy mean for small affiliates?")] == [1]
    # the same content words in another order and case: an exact key, at any age
    assert index.hints("small AFFILIATES: how will the new funding strategy affect them") == (Hint(1, 1.0),)
    # "gardening", "topic", "unrelated" are in six questions (> common=2) and pick no
    # candidates: a text of only such words is compared with the newest window (6, 7, 8)
    common_only = index.hints("Unrelated topic about gardening, number?")
    assert common_only and {h.id for h in common_only} <= {6, 7, 8}
    # while a rare word (the digit 3, in one question) picks its question at any age
    assert index.hints("Unrelated topic number 3 about gardening!")[0].id == 3


def test_candidates_come_from_the_rarest_shared_words_within_the_comparison_budget() -> None:
    def filled(compared: int) -> DuplicateIndex:
        index = DuplicateIndex(window=1, common=10, compared=compared)
        index.track(question(1, "Will the hubs budget cover translation?"))  # the rare word
        for qid in range(2, 7):  # "budget" and "hubs" are in six questions each
            index.track(question(qid, "What about the hubs budget?"))
        return index

    query = "hubs budget for translation"
    # within a budget of three comparisons only the rarest word's question is compared: adding
    # the five that share "budget" would pass it, so one lookup stays cheap
    assert [h.id for h in filled(3).hints(query)] == [1]
    # with room for them, the five are compared too (and are similar enough to be hinted)
    assert [h.id for h in filled(50).hints(query)] == [1, 2, 3, 4, 5]
    # a rarest word with more questions than the budget: its newest ones are compared ("hub"
    # is in none, so "budget" is the rarest; not the same key, so none is an exact match)
    assert [h.id for h in filled(2).hints("what about the hub budget")] == [5, 6]


def test_the_id_lists_stay_sorted_whatever_the_order_questions_are_indexed_in() -> None:
    index = DuplicateIndex(window=1, common=10, compared=2)
    for qid in (5, 3, 9, 1, 7):  # an arrival overtaking the start-up fill, a reworded one
        index.track(question(qid, "What about the hubs budget?"))
    assert [h.id for h in index.hints("what about the hub budget")] == [7, 9]
    index.track(question(9, "What about the hubs budget?", Status.DISMISSED))
    assert [h.id for h in index.hints("what about the hub budget")] == [5, 7]


def test_hints_forget_closed_and_reworded_questions_in_both_parts_of_the_index() -> None:
    index = DuplicateIndex(window=1)
    index.track(question(1, "When is the next board election?"))
    index.track(question(2, "Who approves the budget of regional hubs?"))
    index.track(question(1, "When is the next board election?", Status.DISMISSED))
    assert 1 not in index and index.hints("the next board election, when is it?") == ()
    index.track(question(3, "Is the Android app getting offline reading?"))
    index.track(question(2, "Can the Android app read offline?", Status.QUEUED))  # edited
    assert index.hints("Who approves the budget of regional hubs?") == ()
    assert len(index) == 2


def test_json_export_in_batches_is_the_whole_document_formatted(monkeypatch) -> None:
    config = parse_config('[meeting]\ntitle = "T"\n')
    questions = [question(qid, f"Question {qid}? «ü» 🚀") for qid in range(1, 8)]
    history = {3: []}
    for batch in (1, 2, 3, 7, 50):
        monkeypatch.setattr(export, "JSON_BATCH", batch)
        out = b"".join(export._json_chunks(config, questions, history))
        document = msgspec.json.decode(out)
        expected = msgspec.json.format(msgspec.json.encode(
            {"meeting": export.meeting_info(config), "exported_at": document["exported_at"],
             "questions": [q.exported() for q in questions]}), indent=2) + b"\n"
        assert out == expected, batch


async def test_answer_moments_skip_detail_less_received_entries(queue: QuestionQueue) -> None:
    await queue.submit(incoming(1))
    await queue.submit(incoming(2, status=Status.ANSWERED))  # an import: received as answered
    await queue.apply(Command(op="approve", question=1), "mod")
    await queue.apply(Command(op="go_live", question=1), "host")
    await queue.apply(Command(op="answered", question=1), "host")
    store = queue.store
    every = store.all_history(actions=["answered", "received"])
    lean = store.all_history(actions=["answered", "received"], detail_only=["received"])
    assert [h.action for h in every[1]] == ["received", "answered"]
    assert [h.action for h in lean[1]] == ["answered"]
    assert [h.detail for h in lean[2]] == [{"status": "answered"}]
    assert store.all_history(detail_only=["received"]).keys() == {1, 2}


@given(st.text(alphabet=st.sampled_from(list("aaab ’'éE!?xyz\u0301\u0915\u093f")), max_size=60))
def test_squeezed_words_equals_squeezing_each_word(text: str) -> None:
    from aggregator.triage.text import squeeze, squeezed_words, words

    assert squeezed_words(text) == [squeeze(w) for w in words(text)]
