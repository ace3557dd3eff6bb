"""Where each speaker's stored speech sits on the meeting clock (VOS's own live-capture archives).

A live Discord capture stores only the stretches each speaker was heard, one file per speaker, and an entry
``timeline.json`` in the archive: ``{"version": 1, "sample_rate": 48000, "tracks": {"<file>": [[track_start,
meeting_start, length], ...]}}`` in samples. Transcribing a track then costs its speaker's talk time, not
the meeting's length, and each recognised segment is moved back to its place in the meeting here.

The archive is untrusted like any upload: the entry is size-capped, every number is checked, and stretches
must follow one another in the file and on the meeting clock.
"""

from __future__ import annotations

import bisect
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from core.domain.audio import Transcript, TranscriptSegment, Word
from core.meetings.tracks import TrackArchiveError

TIMELINE_ENTRY = "timeline.json"
_MAX_ENTRY_BYTES = 4 * 1024 * 1024
_MAX_SPANS = 200_000


class TimelineError(TrackArchiveError):
    """The archive's timeline is malformed (shown as a damaged zip)."""

    def __init__(self, detail: str) -> None:
        super().__init__("bad_zip", detail)


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """One stretch: ``length_s`` seconds from ``track_start_s`` in the file play at ``meeting_start_s``."""

    track_start_s: float
    meeting_start_s: float
    length_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackTimeline:
    """The stretches of one track file, in order."""

    spans: tuple[Span, ...]

    @property
    def end_s(self) -> float:
        """Where the track's last stretch ends on the meeting clock."""
        return max((s.meeting_start_s + s.length_s for s in self.spans), default=0.0)

    @property
    def talk_s(self) -> float:
        """The track's stored length."""
        return sum(s.length_s for s in self.spans)

    def to_meeting(self, track_s: float) -> float:
        """A time in the file → the time on the meeting clock."""
        if not self.spans:
            return track_s
        starts = [s.track_start_s for s in self.spans]
        span = self.spans[max(0, bisect.bisect_right(starts, track_s) - 1)]
        return span.meeting_start_s + min(max(track_s - span.track_start_s, 0.0), span.length_s)

    def place(self, transcript: Transcript) -> Transcript:
        """``transcript`` of the file with every segment and word moved to the meeting clock."""

        def word(w: Word) -> Word:
            return replace(w, start=self.to_meeting(w.start), end=self.to_meeting(w.end))

        def segment(s: TranscriptSegment) -> TranscriptSegment:
            start = self.to_meeting(s.start)
            end = max(start, self.to_meeting(s.end))
            return replace(s, start=start, end=end, words=tuple(word(w) for w in s.words))

        return replace(
            transcript,
            segments=tuple(segment(s) for s in transcript.segments),
            duration_s=max(transcript.duration_s, self.end_s),
        )


def _parse_spans(raw: object, rate: int) -> TrackTimeline:
    if not isinstance(raw, list) or len(raw) > _MAX_SPANS:
        raise TimelineError("spans must be a list")
    spans: list[Span] = []
    track_end = meeting_end = 0
    for item in raw:
        if not (isinstance(item, list) and len(item) == 3 and all(type(v) is int and v >= 0 for v in item)):
            raise TimelineError("a span is three non-negative integers")
        track_start, meeting_start, length = item
        if track_start < track_end or meeting_start < meeting_end:
            raise TimelineError("spans overlap or are out of order")
        track_end, meeting_end = track_start + length, meeting_start + length
        spans.append(
            Span(
                track_start_s=track_start / rate, meeting_start_s=meeting_start / rate, length_s=length / rate
            )
        )
    return TrackTimeline(spans=tuple(spans))


def read_timeline(archive: Path) -> dict[str, TrackTimeline] | None:
    """The timelines of an archive by file name, or None when it has none (Craig, other uploads).

    Blocking: call it off the event loop.
    """
    with zipfile.ZipFile(archive) as zf:
        try:
            info = zf.getinfo(TIMELINE_ENTRY)
        except KeyError:
            return None
        if info.file_size > _MAX_ENTRY_BYTES:
            raise TimelineError("timeline.json is too large")
        data = zf.read(info)[: _MAX_ENTRY_BYTES + 1]
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise TimelineError(f"timeline.json is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise TimelineError("unknown timeline version")
    rate = doc.get("sample_rate")
    tracks = doc.get("tracks")
    if type(rate) is not int or not 8000 <= rate <= 192_000 or not isinstance(tracks, dict):
        raise TimelineError("timeline.json needs sample_rate and tracks")
    return {str(name): _parse_spans(spans, rate) for name, spans in tracks.items()}


_MAX_NOTES = 4000
NOTES_ENTRY = "notes.txt"


def read_notes(archive: Path) -> str:
    """A live capture's own notes (capture health per speaker, warnings): ``notes.txt`` in the archive,
    as plain text of at most 4000 characters; ``""`` when there is none or it cannot be read."""
    try:
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(NOTES_ENTRY)
            if info.file_size > 4 * _MAX_NOTES:
                return ""
            text = zf.read(info).decode("utf-8", errors="replace")
    except (KeyError, zipfile.BadZipFile, OSError):
        return ""
    printable = "".join(ch for ch in text if ch.isprintable() or ch == "\n")
    return printable[:_MAX_NOTES].strip()


def meeting_length(timelines: Mapping[str, TrackTimeline]) -> float:
    """The meeting's length as its timelines know it (the end of the last stretch)."""
    return max((t.end_s for t in timelines.values()), default=0.0)
