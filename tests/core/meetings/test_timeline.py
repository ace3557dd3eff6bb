"""Timelines of live-capture archives: mapping track time to meeting time, and hostile timelines refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from core.domain.audio import Transcript, TranscriptSegment, Word
from core.meetings.timeline import TimelineError, meeting_length, read_timeline


def _archive(tmp_path: Path, timeline: object) -> Path:
    path = tmp_path / "capture.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("alice.ogg", b"OggS")
        zf.writestr("timeline.json", json.dumps(timeline) if not isinstance(timeline, bytes) else timeline)
    return path


def test_track_times_move_to_where_the_speaker_spoke(tmp_path: Path) -> None:
    spans = [[0, 48_000 * 60, 48_000 * 10], [48_000 * 10, 48_000 * 600, 48_000 * 5]]
    timelines = read_timeline(
        _archive(tmp_path, {"version": 1, "sample_rate": 48_000, "tracks": {"alice.ogg": spans}})
    )
    assert timelines is not None
    alice = timelines["alice.ogg"]
    assert alice.to_meeting(0.0) == 60.0
    assert alice.to_meeting(9.5) == 69.5
    assert alice.to_meeting(12.0) == 602.0  # in the second stretch
    assert meeting_length(timelines) == 605.0
    heard = Transcript(
        language="ko",
        duration_s=15.0,
        segments=(
            TranscriptSegment(start=9.0, end=11.0, text="네", words=(Word(start=10.5, end=11.0, text="네"),)),
        ),
    )
    placed = alice.place(heard)
    (segment,) = placed.segments
    assert (segment.start, segment.end) == (69.0, 601.0)
    assert (segment.words[0].start, segment.words[0].end) == (600.5, 601.0)
    assert placed.duration_s == 605.0


def test_an_archive_without_a_timeline_has_none(tmp_path: Path) -> None:
    path = tmp_path / "craig.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("1-alice.flac", b"fLaC")
    assert read_timeline(path) is None


@pytest.mark.parametrize(
    "timeline",
    [
        b"{not json",
        {"version": 2, "sample_rate": 48_000, "tracks": {}},
        {"version": 1, "sample_rate": 1, "tracks": {}},
        {"version": 1, "sample_rate": 48_000, "tracks": {"a.ogg": [[0, 0]]}},
        {"version": 1, "sample_rate": 48_000, "tracks": {"a.ogg": [[0, -5, 10]]}},
        {"version": 1, "sample_rate": 48_000, "tracks": {"a.ogg": [[0, 0, 1.5]]}},
        {"version": 1, "sample_rate": 48_000, "tracks": {"a.ogg": [[0, 100, 50], [10, 200, 5]]}},  # overlap
        {"version": 1, "sample_rate": 48_000, "tracks": {"a.ogg": [[0, 100, 50], [50, 120, 5]]}},
        {"version": 1, "sample_rate": 48_000, "tracks": {"a.ogg": "spans"}},
    ],
)
def test_malformed_timelines_are_refused_as_a_damaged_zip(tmp_path: Path, timeline: object) -> None:
    with pytest.raises(TimelineError) as caught:
        read_timeline(_archive(tmp_path, timeline))
    assert caught.value.reason == "bad_zip"


async def test_an_upload_whose_timeline_runs_past_the_limit_is_refused_before_decoding(
    tmp_path: Path,
) -> None:
    from core.meetings.pipeline import PipelineOptions, StageTracker, transcribe_track_archive
    from core.voice.audio import AudioError
    from tests.support.stt import FakeSpeechToText

    three_hours = 48_000 * 3 * 3600
    timeline = {"version": 1, "sample_rate": 48_000, "tracks": {"alice.ogg": [[0, three_hours, 48_000]]}}
    stt = FakeSpeechToText("말")
    with pytest.raises(AudioError) as caught:
        await transcribe_track_archive(
            _archive(tmp_path, timeline), tmp_path / "work", stt, PipelineOptions(), StageTracker(None)
        )
    assert caught.value.key == "voice.audio.too_long"
    assert stt.calls == []
