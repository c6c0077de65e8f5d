"""Display names without addresses, and the private-question rules every public surface uses."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.model import Asker, Author, Question
from aggregator.privacy import (
    ADDRESS_REMOVED,
    EMAIL_PARTICIPANT,
    HIDDEN_ASKER,
    confirmed,
    derived_name,
    find_addresses,
    is_private,
    public_asker,
    public_asker_name,
    public_name,
    redact_addresses,
)

#: What a reader would take for an email address: something, an at sign, something.
LOOKS_LIKE_ADDRESS = re.compile(r"[^\s@＠﹫]+\s*[@＠﹫]\s*[^\s@＠﹫]+\.[a-z]", re.IGNORECASE)


def question(name: str = "Grace", ident: str = "16778240", email: str | None = None,
             flags: tuple[str, ...] = (), source: str = "zoom") -> Question:
    return Question(id=1, source=source, external_id="x", text="Why?",
                    author=Author(name=name, id=ident, email=email),
                    received_at="2022-11-10T14:00:00.000Z", flags=flags)


@pytest.mark.parametrize(("address", "expected"), [
    ("jane.secret@example.org", "jane.s."),
    ("jane@example.org", "jane"),
    ("Jane.Mary.Doe@example.org", "Jane.M.D."),
    ("jane_doe-x@example.org", "jane.d.x."),
    ("jane+townhall@example.org", "jane"),
    ("mailto:jane.secret@example.org", "jane.s."),
    ('"jane secret"@example.org', "jane.s."),
    ("jürgen.öz@example.de", "jürgen.ö."),
    ("12345@example.org", EMAIL_PARTICIPANT),
    ("..@example.org", EMAIL_PARTICIPANT),
    ("@example.org", EMAIL_PARTICIPANT),
    ("", EMAIL_PARTICIPANT),
])
def test_derived_name_leaves_the_domain_out(address: str, expected: str) -> None:
    assert derived_name(address) == expected
    assert "example" not in derived_name(address)


@pytest.mark.parametrize(("name", "email", "expected"), [
    ("Jane Doe", "jane@example.org", "Jane Doe"),
    ("jane.secret@example.org", None, "jane.s."),
    ("jane.secret@example.org", "jane.secret@example.org", "jane.s."),
    ('"jane@example.org"', "jane@example.org", "jane"),
    ("Jane Doe <jane@example.org>", None, "Jane Doe"),
    ("Jane Doe (jane@example.org)", None, "Jane Doe"),
    ("Jane Doe - jane@example.org", None, "Jane Doe"),
    ("jane@example.org, bob@example.org", None, "jane"),
    ("jane＠example.org", None, "jane"),  # fullwidth at sign
    ("", "ana.lopez@example.org", "ana.l."),
    ("", None, EMAIL_PARTICIPANT),
    ("@JaneDoe", None, "@JaneDoe"),  # a YouTube handle is not an address
    ("Jane @ the office", None, "Jane @ the office"),
])
def test_public_name_removes_every_address(name: str, email: str | None, expected: str) -> None:
    assert public_name(name, email) == expected


@given(st.text(alphabet=st.sampled_from(list("ab.<>\"() @＠,-x")), max_size=40),
       st.one_of(st.none(), st.sampled_from(["jane@example.org", "x@y", "12@z.org", "nope"])))
def test_public_name_never_returns_an_address(name: str, email: str | None) -> None:
    shown = public_name(name, email)
    assert shown.strip()
    assert not find_addresses(shown), shown
    assert not find_addresses(public_name(name + " jane@example.org", email))


def test_addresses_in_free_text_are_replaced_visibly() -> None:
    text = "Mail me at jane@example.org (or bob@example.org) about @handle. Or ann@example.org."
    assert redact_addresses(text) == (f"Mail me at {ADDRESS_REMOVED} (or {ADDRESS_REMOVED}) "
                                      f"about @handle. Or {ADDRESS_REMOVED}.")
    assert not LOOKS_LIKE_ADDRESS.search(redact_addresses(text))
    assert redact_addresses("no address here") == "no address here"


def test_private_questions_need_a_confirmation_and_hide_their_asker() -> None:
    public = question()
    private = question(flags=("private",))
    approved = question(flags=("private", "private_confirmed"))
    assert not is_private(public) and confirmed(public)
    assert is_private(private) and not confirmed(private)
    assert is_private(approved) and confirmed(approved)
    assert public_asker_name(public) == "Grace"
    assert public_asker_name(private) == HIDDEN_ASKER
    assert public_asker_name(approved) == HIDDEN_ASKER
    assert HIDDEN_ASKER == "Anonymous"


def test_public_asker_name_of_an_email_sender_has_no_address() -> None:
    q = question(name="jane.secret@example.org", ident="jane.secret@example.org",
                 email="jane.secret@example.org", source="email")
    assert public_asker_name(q) == "jane.s."
    # A Zoom participant whose id is the address and whose name is empty.
    q = question(name="", ident="carl.k@example.org")
    assert public_asker_name(q) == "carl.k."


def test_public_asker_names_an_asker_without_an_address() -> None:
    assert public_asker(Asker(source="email", name="jo.k@example.org", id="jo.k@example.org",
                              email="jo.k@example.org")) == "jo.k."
    assert public_asker(Asker(source="zoom", name="", id="ann@example.org")) == "ann"
    assert public_asker(Asker(source="youtube", name="DevFan", id="UC1")) == "DevFan"
