"""The injection cases one by one: CSV formulas, MediaWiki markup, Markdown markup and HTML.

Wikitext and Markdown are checked with real parsers (mwparserfromhell, markdown-it-py): the
escaped text must parse to plain text and entities only, and decode back to what was typed.
"""

from __future__ import annotations

import csv
import html
import io
import re

import mwparserfromhell
import pytest
from markdown_it import MarkdownIt

from aggregator.export_formats.csv_export import COLUMNS, to_csv
from aggregator.export_formats.escaping import csv_cell, markdown_escape, wikitext_escape
from aggregator.model import Author, Question

FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\0=1", "  =1", "   +1", " -x",
            "   @x", " \t=1", '=HYPERLINK("http://evil.example","x")', "=cmd|' /C calc'!A0"]
HARMLESS = ["a=1", "1-2", "", "hello @you", "'quoted", "x\n=1", "\n", "1+1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_gets_a_leading_apostrophe(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_harmless_text_is_left_alone(value: str) -> None:
    assert csv_cell(value) == value


def _question(**fields: object) -> Question:
    base: dict[str, object] = dict(id=7, source="youtube", external_id="m7",
                                   author=Author(name="Ana", id="UC1"), text="hi",
                                   received_at="2022-11-10T14:00:00.000Z")
    base.update(fields)
    return Question(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["text", "edited_text", "note", "assignee", "dismiss_reason"])
@pytest.mark.parametrize("value", ["=1+1", "  @SUM(1)", "\t-2", "+1"])
def test_every_text_column_is_neutralised_after_csv_quoting(field: str, value: str) -> None:
    out = to_csv([_question(**{field: value})])
    header, row = list(csv.reader(io.StringIO(out, newline="")))
    assert row[header.index(field)] == "'" + value


def test_author_and_tags_are_neutralised_too() -> None:
    out = to_csv([_question(author=Author(name="=evil()", id="x"), tags=("-tag", "ok"))])
    _, row = list(csv.reader(io.StringIO(out, newline="")))
    assert row[COLUMNS.index("author")] == "'=evil()"
    assert row[COLUMNS.index("tags")] == "'-tag; ok"


def test_csv_is_rfc4180_quoted_with_crlf() -> None:
    out = to_csv([_question(text='say "hi",\nthen go')])
    assert out.endswith("\r\n") and out.count("\r\n") == 2
    assert '"say ""hi"",\nthen go"' in out


WIKI_ATTACKS = {
    "internal link": "see [[Main Page]] now",
    "piped link": "[[Special:UserLogout|click]]",
    "external link": "[http://evil.example trusted site]",
    "free link": "http://evil.example",
    "template": "{{delete|reason=spam}}",
    "parameter": "{{{1}}}",
    "table": "{| class=wikitable\n|-\n| x\n|}",
    "html tag": "<span style='font-size:100px'>big</span>",
    "ref tag": "<ref>fake source</ref>",
    "nowiki breakout": "</nowiki>[[x]]",
    "comment": "<!-- hidden -->",
    "signature": "~~~~",
    "long signature": "~~~~~~",
    "magic word": "__NOTOC__ __NOINDEX__",
    "bold": "'''bold''' and ''italic''",
    "entity": "&lt;b&gt; &amp;",
    "list": "* item",
    "numbered list": "# item",
    "definition": "; term : def",
    "indent": ": indented",
    "heading": "== Heading ==",
    "rule": "----",
    "preformatted": " leading space",
    "magic link": "ISBN 9780306406157 and RFC 1149 and PMID 123",
    "multi-line": "ok\n* item\n# item\n== h ==\n----\n:x",
    "table cells": "a !! b || c",
    "mailto link": "write to mailto:boss@evil.example or MAILTO:x@y",
    "news and tel links": "news:comp.lang.python tel:+15551234 sip:a@b xmpp:x@y urn:isbn:1",
}


@pytest.mark.parametrize("payload", WIKI_ATTACKS.values(), ids=WIKI_ATTACKS.keys())
def test_wikitext_payload_stays_plain_text(payload: str) -> None:
    escaped = wikitext_escape(payload)
    nodes = mwparserfromhell.parse(escaped).nodes
    kinds = {type(n).__name__ for n in nodes}
    assert kinds <= {"Text", "HTMLEntity"}, (escaped, kinds)
    # what the parser does not model: signatures, magic words, free links, line-start markup
    for sequence in ("~~~", "__", "://", "[[", "{{", "<", "''"):
        assert sequence not in escaped
    assert not re.search(r"(?i)\b(mailto|news|tel|sip|xmpp|urn):", escaped)
    for line in escaped.split("\n"):
        assert not line.startswith(("*", "#", ":", ";", "=", "----", " ", "{|", "|", "!"))
    assert html.unescape(escaped) == payload  # the reader sees exactly what was typed


MARKDOWN_ATTACKS = {
    "link": "[click](javascript:alert(1))",
    "image": "![x](http://evil.example/track.png)",
    "html": "<img src=x onerror=alert(1)>",
    "script": "<script>alert(1)</script>",
    "emphasis": "**bold** _it_ *it*",
    "code": "`code` and ```fence```",
    "entity": "&lt;b&gt; &amp; &#60;",
    "heading": "# Heading",
    "list": "- item",
    "plus list": "+ item",
    "numbered": "1. item",
    "quote": "> quoted",
    "setext": "text\n===",
    "table": "| a | b |\n|---|---|",
    "strike": "~~gone~~",
    "bare url": "see http://evil.example/x",
    "autolink": "<http://evil.example>",
    "reference": "[x]: http://evil.example",
    "backslash": "trailing \\",
    "math": "$x^2$",
}


@pytest.mark.parametrize("payload", MARKDOWN_ATTACKS.values(), ids=MARKDOWN_ATTACKS.keys())
def test_markdown_payload_stays_plain_text(payload: str) -> None:
    escaped = markdown_escape(payload)
    tokens = MarkdownIt("gfm-like").parse(escaped)
    block_types = {t.type for t in tokens}
    assert block_types <= {"paragraph_open", "paragraph_close", "inline"}, (escaped, block_types)
    children = [child for t in tokens if t.children for child in t.children]
    # A bare URL becomes a link in GFM (linkify); allowed, as its visible text is the URL itself.
    links = [c for c in children if c.type == "link_open"]
    assert all(c.markup == "linkify" for c in links), escaped
    inline_types = {c.type for c in children}
    assert inline_types <= {"text", "softbreak", "link_open", "link_close"}, (escaped, inline_types)
    rendered = MarkdownIt("gfm-like").render(escaped)
    text = html.unescape(re.sub(r"<[^>]*>", "", rendered)).strip()
    assert text == payload.strip()
