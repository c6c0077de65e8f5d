"""Escapers for user text in the export formats: CSV cells, Markdown and MediaWiki wikitext.

Audience text is hostile. It reaches these renderers already cleaned of
control characters; here it is made inert for the one format it goes into:

- CSV (OWASP ASVS 1.2.10): quoting is the csv module's job (RFC 4180), but
  a spreadsheet evaluates a cell starting with `=`, `+`, `-`, `@`, TAB, CR or NUL, also a quoted
  one and also after leading spaces, so such a cell gets a leading apostrophe.
- Markdown: every character that starts inline markup is backslash-escaped (CommonMark allows a
  backslash before any ASCII punctuation) and `& < >` become entities, so neither markup nor raw
  HTML nor an entity typed by a user survives.
- Wikitext: modelled on MediaWiki's own `wfEscapeWikiText` (includes/GlobalFunctions.php): the
  characters that open links, templates, tags, tables and formatting become numeric entities,
  and so do the sequences that only matter in context (`__MAGIC__` words, `~~~~` signatures,
  `://` free links and `mailto:`-style ones, ISBN/RFC/PMID magic links, and `* # : ; = ----` or a space at a line start).
  Entities rather than `<nowiki>`: nothing a user types can close an entity early.
"""

from __future__ import annotations

import re

# --- CSV ------------------------------------------------------------------------------------

# = + - @ TAB CR NUL as the first character, also after leading spaces (one C-level match per
# cell: the CSV of 100,000 questions has a million cells)
_FORMULA_START = re.compile("^ *[=+\\-@\t\r\0]")
#: the first characters after which `csv_cell` can change a cell (callers may skip the rest)
FORMULA_FIRST = frozenset(" =+-@\t\r\0")


def csv_cell(value: str) -> str:
    """`value` made safe to open in a spreadsheet (the csv module quotes it afterwards)."""
    return "'" + value if _FORMULA_START.match(value) else value


# --- Markdown ---------------------------------------------------------------------------------

_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Inline markup openers: emphasis, code, links/images (`(`, `)` and `!` are inert without a `[`),
# tables (GFM), strikethrough, math, and the backslash itself; `#`, `+`, `-`, `=`, `1.` and `1)`
# matter only at a line start (see below). A bare URL is still linked by GFM renderers: its
# visible text is the URL itself, so it cannot pass for something else.
_MARKDOWN_PUNCT = set("\\`*_[]|~$")
_MARKDOWN_TABLE = str.maketrans(
    {**_MARKDOWN_ENTITIES, **{ch: "\\" + ch for ch in _MARKDOWN_PUNCT}})
_MARKDOWN_LINE_START = re.compile(r"^(\s*)(?:([#+\-=])|(\d+)([.)]))", re.MULTILINE)


def markdown_escape(text: str) -> str:
    """Plain text that renders as itself in CommonMark/GFM, never as markup or HTML."""
    escaped = text.translate(_MARKDOWN_TABLE)
    # A line may not start a heading, list, setext underline or numbered list.
    return _MARKDOWN_LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker, number, delimiter = match.groups()
    return f"{indent}\\{marker}" if marker else f"{indent}{number}\\{delimiter}"


# --- Wikitext ---------------------------------------------------------------------------------

_WIKI_CHARS = str.maketrans({
    '"': "&#34;", "&": "&#38;", "'": "&#39;", "<": "&#60;", "=": "&#61;", ">": "&#62;",
    "[": "&#91;", "]": "&#93;", "{": "&#123;", "|": "&#124;", "}": "&#125;",
})
# (`;` matters inside `-{ }-` language-converter markup, which cannot open without a `{`, and at a
# line start, handled below.)
# Sequences made of characters that are harmless one by one (after the table above).
_WIKI_SEQUENCES = [
    ("__", "_&#95;"),        # __NOTOC__ and every other double-underscore magic word
    ("~~~", "~~&#126;"),     # ~~~ ~~~~ ~~~~~ signatures (expanded when the page is saved)
    ("://", "&#58;//"),      # free external links
    ("!!", "&#33;!"),        # table cell separator
]
_WIKI_MAGIC_LINK = re.compile(r"\b(ISBN|RFC|PMID)(\s)")
# MediaWiki's default $wgUrlProtocols that link without `//` (mailto:x@y, news:group, tel:...);
# as in wfEscapeWikiText, the colon after such a word becomes an entity.
_WIKI_COLON_PROTOCOL = re.compile(
    r"\b(bitcoin|geo|magnet|mailto|matrix|news|sip|sips|sms|tel|urn|xmpp):", re.IGNORECASE)
# What is markup only at the start of a line: lists, definitions, indents, preformatted text,
# headings (the `=` is already an entity), a horizontal rule, table syntax.
_WIKI_LINE_START = re.compile(r"^(?:[*#:;! \t]|----)", re.MULTILINE)
_LINE_START_CHARS = frozenset("*#:;! \t-")


def _entity(ch: str) -> str:
    return f"&#{ord(ch)};"


def wikitext_escape(text: str) -> str:
    """Plain text that MediaWiki shows as itself: no links, templates, tags or formatting."""
    escaped = text.translate(_WIKI_CHARS)
    for sequence, replacement in _WIKI_SEQUENCES:
        while sequence in escaped:  # `~~~~~~` needs more than one pass
            escaped = escaped.replace(sequence, replacement)
    # Each pattern below runs only where its tell-tale can occur: a notes page of 100,000
    # questions escapes ~140,000 strings, and most have no digit-prefixed word, colon or line
    # start worth a regex scan.
    if "ISBN" in escaped or "RFC" in escaped or "PMID" in escaped:
        escaped = _WIKI_MAGIC_LINK.sub(lambda m: m.group(1) + _entity(m.group(2)), escaped)
    if ":" in escaped:
        escaped = _WIKI_COLON_PROTOCOL.sub(r"\1&#58;", escaped)
    if escaped[:1] in _LINE_START_CHARS or "\n" in escaped:
        escaped = _WIKI_LINE_START.sub(lambda m: _entity(m.group(0)[0]) + m.group(0)[1:],
                                       escaped)
    return escaped
