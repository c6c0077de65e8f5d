"""Ingestion cleaning (design.md section 4): property tests over arbitrary Unicode."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.sanitize import ELLIPSIS, clean_line, clean_text

FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\x1b\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\ud800-\udfff]"
)
hostile_alphabet = st.sampled_from(
    list("\x1b[]0;\x07\x9b\x9d\r\n\t\x00\x7f\u202e\u2066\u2069\u200b\u200d\ufeff\u0301e")
    + ["\ud800", "\u2028", "👍", "ق", "中", " "])
any_text = st.lists(st.one_of(st.characters(), hostile_alphabet,
                              st.sampled_from(["e\u0301", "[/]", "\x1b[2J", "\r\n"])),
                    max_size=200).map("".join)


@settings(max_examples=500)
@given(any_text)
def test_output_holds_no_forbidden_character(raw: str) -> None:
    for cleaned in (clean_text(raw), clean_line(raw)):
        assert not FORBIDDEN.search(cleaned), repr(cleaned)
        cleaned.encode("utf-8")  # storable: no lone surrogates


@settings(max_examples=500)
@given(any_text, st.integers(min_value=1, max_value=80))
def test_cleaning_twice_changes_nothing(raw: str, cap: int) -> None:
    once = clean_text(raw, cap)
    assert clean_text(once, cap) == once
    line = clean_line(raw, cap)
    assert clean_line(line, cap) == line


@settings(max_examples=300)
@given(any_text, st.integers(min_value=0, max_value=50))
def test_the_length_cap_holds(raw: str, cap: int) -> None:
    assert len(clean_text(raw, cap)) <= cap
    assert len(clean_line(raw, cap)) <= cap


@given(any_text)
def test_output_is_nfc_and_lines_are_single(raw: str) -> None:
    assert unicodedata.is_normalized("NFC", clean_text(raw))
    assert "\n" not in clean_line(raw) and "\t" not in clean_line(raw)


def test_known_attacks_are_neutralised() -> None:
    assert clean_text("a\x1b]0;title\x07b\x1b[2Jc\r\nd\te\u202eevil") == "a]0;titleb[2Jc\nd\teevil"
    assert clean_text("x\u009b31mred") == "x31mred"  # 8-bit CSI
    assert clean_text("zero\u200bwidth\ufeff") == "zerowidth"
    assert clean_text("family 👨\u200d👩\u200d👧") == "family 👨\u200d👩\u200d👧"  # ZWJ kept
    assert clean_text("e\u0301") == "\u00e9"
    assert clean_text("x" * 20, 10) == "x" * 9 + ELLIPSIS
    assert clean_text(None) == "" and clean_text(42) == "42"
