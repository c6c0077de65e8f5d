"""YouTube chapters for the recording's description: `00:00 Introduction`, then one line per
answered question at the second it went live, in the order answered.

YouTube turns a description's timestamps into chapters only if the first is at 0:00, there are
at least three, and each lasts at least 10 seconds; otherwise it shows none at all. So a
question taken less than 10 s after the chapter before it is left out (it joins that chapter),
a first question taken in the first 10 s names the 0:00 chapter itself, and when fewer than
three chapters are left this export refuses with the reason instead of writing lines YouTube
would ignore. Titles are one line, cut to `MAX_TITLE` characters, without `<` and `>` (YouTube
refuses a description containing them).

The description is public: only questions a public page may show (aggregator/privacy.py:
`confirmed`), no asker, and addresses in a wording replaced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..privacy import confirmed, redact_addresses
from . import timeline

if TYPE_CHECKING:  # aggregator.export imports this module
    from ..export import ExportData

INTRODUCTION = "Introduction"
MIN_CHAPTERS = 3  # YouTube's minimum
MIN_SECONDS = 10  # YouTube's shortest chapter
MAX_TITLE = 80  # long enough to recognise a question, short enough to scan a list
_ANGLES = str.maketrans({"<": "‹", ">": "›"})


class ChaptersError(ValueError):
    """Chapters YouTube would not accept; the message says why and what to do."""


def timestamp(seconds: int) -> str:
    """`00:00`, `12:34`, `1:02:03`: the form YouTube recognises in a description."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def title(text: str) -> str:
    """A question's wording as a chapter title: one line, public, cut to fit."""
    line = " ".join(redact_addresses(text).split()).translate(_ANGLES)
    return line if len(line) <= MAX_TITLE else line[:MAX_TITLE - 1].rstrip() + "…"


def chapter_list(data: ExportData) -> tuple[list[tuple[int, str]], list[str]]:
    """(seconds, title) per chapter, and a line per answered question left out (why)."""
    recording = data.recording
    shown = [q for q in data.questions if confirmed(q)]
    chapters: list[tuple[int, str]] = [(0, INTRODUCTION)]
    left_out: list[str] = []
    for q in timeline.in_answer_order(shown, data.answered_at):
        offset = recording.offset(data.went_live_at.get(q.id))
        if offset is None:
            left_out.append(f"#{q.id}: no time in the recording (it never went live "
                            "after the recording's start)")
        elif offset - chapters[-1][0] >= MIN_SECONDS:
            chapters.append((offset, title(q.display_text)))
        elif len(chapters) == 1 and chapters[0][1] == INTRODUCTION:
            chapters[0] = (0, title(q.display_text))  # taken at once: it opens the video
        else:
            left_out.append(f"#{q.id}: within {MIN_SECONDS} s of the chapter before it")
    return chapters, left_out


def chapters(data: ExportData) -> str:
    """The chapter lines, or ChaptersError when YouTube would not show them."""
    if data.recording.start is None:
        raise ChaptersError(
            "no chapters: the recording's start is unknown and no question went live. Mark it "
            "with the op recording_started (the TUI key), or set [meeting] recording_started_at")
    lines, left_out = chapter_list(data)
    if len(lines) < MIN_CHAPTERS:
        answered = len(data.answered_at)
        why = "; ".join(left_out)
        raise ChaptersError(
            f"no chapters written: only {len(lines)} chapter{'s' if len(lines) != 1 else ''}, "
            f"and YouTube needs at least {MIN_CHAPTERS} (the first at 00:00, each at least "
            f"{MIN_SECONDS} s long); {answered} question{'s' if answered != 1 else ''} answered"
            + (f"; left out: {why}" if why else ""))
    return "".join(f"{timestamp(seconds)} {name}\n" for seconds, name in lines)
