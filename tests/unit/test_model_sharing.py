"""Decoded questions share the strings they repeat (memory at 100,000 questions), and only
equal values are ever shared."""

from __future__ import annotations

import msgspec

from aggregator.model import Asker, Author, Question
from aggregator.store import decode_question, encode_question


def stored(**changes: object) -> Question:
    author = Author(name="Ana", id="UCana")
    q = Question(id=7, source="youtube", external_id="y7", author=author, text="how?",
                 received_at="2026-11-24T00:00:00.000Z",
                 askers=(Asker(source="youtube", name="Ana", id="UCana", question=7),))
    return decode_question(encode_question(msgspec.structs.replace(q, **changes)))


def test_a_decoded_question_shares_its_author_strings_and_source_name():
    a, b = stored(), stored()
    assert a.askers[0].name is a.author.name and a.askers[0].id is a.author.id
    assert a.source is b.source and a.askers[0].source is a.source
    assert a == decode_question(encode_question(a))


def test_an_asker_who_is_not_the_author_keeps_their_own_strings():
    other = Asker(source="email", name="Ana", id="UCana", question=3)
    q = stored(askers=(other,))
    assert q.askers[0].source == "email" and q.askers[0] == other


def test_an_unknown_source_is_kept_as_it_came():
    assert stored(source="carrier-pigeon").source == "carrier-pigeon"
