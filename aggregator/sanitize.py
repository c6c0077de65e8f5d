"""Cleaning of untrusted text at the ingestion boundary (design.md section 4, safety.md section 2).

Every byte of chat text, names, subjects and bodies passes through here once, before it is
stored or published, so no renderer downstream (terminal, CSV, browser, log) ever sees a control
sequence. Renderers still treat the result as plain text; this is not an escaper for any markup.
"""

from __future__ import annotations

import re
import unicodedata

#: Default caps: a chat line is short, an email body can be long; names are one line.
MAX_TEXT = 5_000
MAX_LINE = 200
ELLIPSIS = "…"

# C0 controls except \t and \n, DEL, C1 controls; bidi embeddings, overrides and isolates;
# zero-width space, word joiner, BOM. ZWJ/ZWNJ (U+200C/D) stay: emoji and several scripts need
# them. Lone surrogates (which JSON can carry) cannot be encoded to UTF-8 and are dropped too.
_UNWANTED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\ud800-\udfff]"
)
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85\x0b\x0c]")
_WHITESPACE_RUN = re.compile(r"\s+")
#: Anything the substitutions below would change; text without it skips them (the usual case).
_NEEDS_WORK = re.compile(f"{_UNWANTED.pattern}|{_LINE_BREAKS.pattern}")


def clean_text(raw: object, max_length: int = MAX_TEXT) -> str:
    """Multi-line text: line breaks normalised to \\n, controls removed, NFC, capped.

    Idempotent: `clean_text(clean_text(x)) == clean_text(x)`.
    """
    text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    if not _NEEDS_WORK.search(text) and unicodedata.is_normalized("NFC", text):
        return _cap(text.strip(), max_length)  # what the steps below would return, faster
    text = _LINE_BREAKS.sub("\n", text)
    text = _UNWANTED.sub("", text)
    text = unicodedata.normalize("NFC", text)
    # Removing characters or composing can open new matches; a second pass settles it.
    text = _UNWANTED.sub("", text).strip()
    return _cap(text, max_length)


def clean_line(raw: object, max_length: int = MAX_LINE) -> str:
    """One-line text (names, subjects, tags): every run of whitespace becomes one space."""
    text = clean_text(raw, max_length=max(max_length * 4, max_length))
    text = _WHITESPACE_RUN.sub(" ", text).strip()
    return _cap(text, max_length)


def _cap(text: str, max_length: int) -> str:
    if len(text) <= max_length:
        return text
    cut = text[: max(max_length - 1, 0)].rstrip()
    cut = unicodedata.normalize("NFC", cut)
    return (cut + ELLIPSIS)[:max_length]
