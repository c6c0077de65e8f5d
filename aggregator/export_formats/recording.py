"""Where in the recording each question was taken: the recording's address and start, and the
offset of a question's go-live from that start (`00:12:34`, linked to that second on YouTube).

The start is the most deliberate of what is known: the moment a moderator marked with the op
`recording_started`, then `[meeting] recording_started_at`, then the stream's own start as
YouTube reported it (`liveStreamingDetails.actualStartTime`, kept by the collector), and only
then the first go-live (the recording surely ran by then; offsets count from that question).
The address is `[meeting] recording_url`, else the `[youtube] video`; a YouTube address gets
per-question links `https://www.youtube.com/watch?v=VIDEO_ID&t=754s`, any other only the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ..collectors.youtube_parse import parse_video_id
from ..meeting_ops import RECORDING_STARTED_AT, STREAM_STARTED_AT
from ..model import parse_iso


@dataclass(frozen=True)
class Recording:
    url: str | None = None  # the recording's address, if one is known
    video_id: str | None = None  # set when the recording is a YouTube video
    start: datetime | None = None
    start_source: str = ""  # how the start was found (for messages)

    def offset(self, moment: str | None) -> int | None:
        """Whole seconds from the recording's start to `moment`; None before the start or
        when either is unknown."""
        if moment is None or self.start is None:
            return None
        seconds = int((parse_iso(moment) - self.start).total_seconds())
        return seconds if seconds >= 0 else None

    def link(self, seconds: int) -> str | None:
        """The address of that second of the recording (YouTube only)."""
        if self.video_id is None:
            return None
        return f"https://www.youtube.com/watch?v={self.video_id}&t={seconds}s"


def clock(seconds: int) -> str:
    """`00:12:34`: hours, minutes and seconds, as the notes show a time in the recording."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def find_recording(recording_url: str, youtube_video: str, started_at: str | None,
                   facts: Mapping[str, str], went_live: Iterable[str]) -> Recording:
    """The recording as the config (`[meeting] recording_url`, `recording_started_at`,
    `[youtube] video`), the meeting's facts (store.meeting()) and the go-live moments tell."""
    url = recording_url or youtube_video or None
    video_id = parse_video_id(url) if url else None
    if video_id is not None and not (url or "").startswith(("http://", "https://")):
        url = f"https://www.youtube.com/watch?v={video_id}"
    candidates = [(facts.get(RECORDING_STARTED_AT), "marked by a moderator"),
                  (started_at, "[meeting] recording_started_at"),
                  (facts.get(STREAM_STARTED_AT), "the YouTube stream's start"),
                  (min(went_live, default=None), "the first question taken live")]
    for value, source in candidates:
        if value:
            try:
                return Recording(url, video_id, parse_iso(value), source)
            except ValueError:
                continue
    return Recording(url, video_id)
