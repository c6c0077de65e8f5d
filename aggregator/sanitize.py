"""Cleaning of untrusted text at the ingestion boundary.

Every byte of chat text, names, subjects and bodies passes through here once, before it is
stored or published, so no renderer downstream (terminal, CSV, browser, log) ever sees a control
sequence, and no character that hides text from a reader survives. Renderers still treat the
result as plain text; this is not an escaper for any markup.

Removed: C0 controls other than newline and tab, DEL, C1 controls (terminals act on them: ESC
sequences set titles, clear screens, make links); bidi embeddings, overrides and isolates (they
reorder what a reader sees); zero-width space, word joiner and BOM; invisible operators
U+2061-U+2064, the Hangul/halfwidth fillers, the soft hyphen and the braille blank (they render
as nothing, so a "blank" name or a hidden word can be built from them); the variation selectors
U+E0100-E01EF (no emoji uses them, and a run of them carries invisible bytes); Unicode tag characters U+E0000-E007F, which can carry a
whole invisible message, except inside a valid emoji tag sequence (the subdivision flags such as
England's are an emoji followed by tags and a CANCEL TAG). Kept: ZWJ/ZWNJ (emoji and several
scripts need them) and the bidi marks LRM, RLM and ALM (right-to-left text needs them).
"""

from __future__ import annotations

import re
import unicodedata

#: Default caps: a chat line is short, an email body can be long; names are one line.
MAX_TEXT = 5_000
MAX_LINE = 200
ELLIPSIS = "…"

# C0 controls except \t and \n, DEL, C1 controls; bidi embeddings, overrides and isolates;
# zero-width space, word joiner, BOM; invisible operators (function application, invisible
# times, separator, plus); Hangul choseong/jungseong fillers, Hangul filler, halfwidth Hangul
# filler; soft hyphen, braille pattern blank; variation selectors 17-256. ZWJ/ZWNJ (U+200C/D),
# the emoji variation selectors U+FE0E/F and LRM/RLM/ALM (U+200E/F, U+061C) are not listed, so
# they stay.
# Lone surrogates (which JSON can carry) cannot be encoded to UTF-8 and are dropped too.
_UNWANTED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\ud800-\udfff"
    "\u2061-\u2064\u115f\u1160\u3164\uffa0\u00ad\u2800\U000e0100-\U000e01ef]"
)
#: A run of Unicode tag characters (U+E0000-E007F); kept only as an emoji tag sequence.
_TAG_RUN = re.compile("[\U000e0000-\U000e007f]+")
#: The tag part of an emoji tag sequence: tag specs U+E0020-E007E, then CANCEL TAG U+E007F.
_TAG_SEQUENCE = re.compile("[\U000e0020-\U000e007e]+\U000e007f")
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)  # skin tones, category Sk
_VS16 = "\ufe0f"
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85\x0b\x0c]")
_WHITESPACE_RUN = re.compile(r"\s+")
#: Anything the substitutions below would change; text without it skips them (the usual case).
_NEEDS_WORK = re.compile(f"{_UNWANTED.pattern}|{_LINE_BREAKS.pattern}|{_TAG_RUN.pattern}")


def clean_text(raw: object, max_length: int = MAX_TEXT) -> str:
    """Multi-line text: line breaks normalised to \\n, controls removed, NFC, capped.

    Idempotent: `clean_text(clean_text(x)) == clean_text(x)`.
    """
    text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    if not _NEEDS_WORK.search(text) and unicodedata.is_normalized("NFC", text):
        return _cap(text.strip(), max_length)  # what the steps below would return, faster
    text = _LINE_BREAKS.sub("\n", text)
    # Tags go before composing: a stray tag between a letter and its accent would otherwise
    # leave the pair uncomposed once it is removed.
    text = drop_stray_tags(_UNWANTED.sub("", text))
    text = unicodedata.normalize("NFC", text)
    # Removing characters or composing can open new matches; a second pass settles it.
    text = drop_stray_tags(_UNWANTED.sub("", text)).strip()
    return _cap(text, max_length)


def drop_stray_tags(text: str) -> str:
    """Remove every Unicode tag character that is not part of a valid emoji tag sequence.

    A valid sequence is an emoji (a symbol, optionally with VS16 or a skin-tone modifier), then
    one or more tag specs U+E0020-E007E, then CANCEL TAG U+E007F: the subdivision flags
    (England, Scotland, Wales) are written this way. Anything else made of tags is invisible
    text and goes; so does whatever follows a valid sequence in the same run of tags.
    """
    if not _TAG_RUN.search(text):
        return text
    return _TAG_RUN.sub(_keep_emoji_tag_sequence, text)


def _keep_emoji_tag_sequence(match: re.Match[str]) -> str:
    if not _follows_emoji(match.string, match.start()):
        return ""
    sequence = _TAG_SEQUENCE.match(match.group())
    return sequence.group() if sequence else ""


def _follows_emoji(text: str, at: int) -> bool:
    """Is the character before `at` an emoji that a tag sequence may modify?"""
    if at and text[at - 1] == _VS16:
        at -= 1
    if not at:
        return False
    base = text[at - 1]
    return ord(base) in _EMOJI_MODIFIERS or unicodedata.category(base) == "So"


def clean_line(raw: object, max_length: int = MAX_LINE) -> str:
    """One-line text (names, subjects, tags): every run of whitespace becomes one space."""
    text = clean_text(raw, max_length=max(max_length * 4, max_length))
    text = _WHITESPACE_RUN.sub(" ", text).strip()
    return _cap(text, max_length)


def _cap(text: str, max_length: int) -> str:
    if len(text) <= max_length:
        return text
    # A cut inside an emoji tag sequence would leave stray tags behind.
    cut = drop_stray_tags(text[: max(max_length - 1, 0)]).rstrip()
    cut = unicodedata.normalize("NFC", cut)
    return (cut + ELLIPSIS)[:max_length]
