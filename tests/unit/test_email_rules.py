"""The subject rules as a table of cases, and the auto-reply/bounce filter."""

from __future__ import annotations

import pytest

from aggregator.collectors.email_rules import SubjectRules, auto_generated, normalise_subject

RULES = SubjectRules(["Question for Maggie"], ["Conversation with Maggie"])
WITH_REPLIES = SubjectRules(["Question for Maggie"], ["Conversation with Maggie"],
                            include_replies=True)

# subject, accepted without replies, accepted with include_replies, remainder
CASES = [
    ("Question for Maggie", True, True, ""),
    ("question for maggie", True, True, ""),
    ("QUESTION FOR MAGGIE: what about the budget?", True, True, "what about the budget?"),
    ("Question   for\tMaggie", True, True, ""),
    ("Ｑｕｅｓｔｉｏｎ ｆｏｒ Ｍａｇｇｉｅ", True, True, ""),  # fullwidth: NFKC
    ("[wikimedia-l] Question for Maggie", True, True, ""),
    ("Fwd: Question for Maggie", True, True, ""),
    ("WG: Question for Maggie - Frage", True, True, "Frage"),
    ("My question for Maggie about grants", True, True, "about grants"),
    ("Re: Question for Maggie", False, True, ""),
    ("RE: [list] Re: Question for Maggie", False, True, ""),
    ("AW: Question for Maggie", False, True, ""),
    ("Re[2]: Question for Maggie", False, True, ""),
    ("Fwd: Re: Question for Maggie", False, True, ""),
    ("Conversation with Maggie", False, False, ""),
    ("Conversation with Maggie - Question for Maggie", False, False, ""),  # exclude first
    ("Re: Conversation with Maggie: question for maggie", False, False, ""),
    ("Questions for Maggie", False, False, ""),  # word boundary
    ("Question for Maggie2", False, False, ""),
    ("AQuestion for Maggie", False, False, ""),
    ("Question for Mag gie", False, False, ""),
    ("Q: for Maggie", False, False, ""),
    ("", False, False, ""),
    ("Re: " * 500 + "Question for Maggie", False, True, ""),  # bounded prefix stripping
]


@pytest.mark.parametrize(("subject", "plain", "replies", "remainder"), CASES,
                         ids=[c[0][:40] for c in CASES])
def test_subject_rules(subject: str, plain: bool, replies: bool, remainder: str) -> None:
    verdict = RULES.check(subject)
    assert verdict.accepted is plain, verdict.reason
    assert WITH_REPLIES.check(subject).accepted is replies
    if plain:
        assert verdict.remainder == remainder


def test_normalise_subject_keeps_the_senders_case_for_display() -> None:
    subject = normalise_subject("Re: [List] FWD:  Question for  Maggie ")
    assert subject.text == "Question for Maggie"
    assert subject.key == "question for maggie"
    assert subject.is_reply and subject.is_forward


def test_empty_phrases_match_nothing() -> None:
    assert not SubjectRules([" ", ""]).check("anything").accepted


@pytest.mark.parametrize(("headers", "content_type", "skipped"), [
    ({}, "text/plain", False),
    ({"Auto-Submitted": "no"}, "text/plain", False),
    ({"Auto-Submitted": "auto-replied"}, "text/plain", True),
    ({"Auto-Submitted": "auto-generated; type=vacation"}, "text/plain", True),
    ({"Precedence": "bulk"}, "text/plain", True),
    ({"Precedence": "Junk"}, "text/plain", True),
    ({"Precedence": "list"}, "text/plain", True),
    ({"Precedence": "first-class"}, "text/plain", False),
    ({"X-Autoreply": "yes"}, "text/plain", True),
    ({"X-Autorespond": "1"}, "text/plain", True),
    ({}, "multipart/report", True),
])
def test_auto_replies_and_bounces(headers: dict[str, str], content_type: str,
                                  skipped: bool) -> None:
    folded = {k.lower(): v for k, v in headers.items()}
    assert (auto_generated(lambda name: folded.get(name.lower()), content_type)
            is not None) is skipped
