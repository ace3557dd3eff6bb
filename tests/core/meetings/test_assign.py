"""Word-to-speaker assignment (property-tested) and per-speaker track merging."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.audio import SpeakerTurn, Transcript, TranscriptSegment, Word
from core.meetings.assign import assign_word_speakers, merge_tracks, rename_speakers


@st.composite
def segments_and_turns(draw: st.DrawFn) -> tuple[list[TranscriptSegment], list[SpeakerTurn]]:
    """Consecutive words grouped into segments, and arbitrary (possibly overlapping) turns."""
    n_words = draw(st.integers(0, 40))
    t, words = 0.0, []
    for i in range(n_words):
        t += draw(st.floats(0.0, 2.0))
        length = draw(st.floats(0.0, 1.5))
        words.append(Word(start=round(t, 3), end=round(t + length, 3), text=f"w{i}"))
        t += length
    segments, i = [], 0
    while i < len(words):
        size = draw(st.integers(1, 8))
        chunk = tuple(words[i : i + size])
        segments.append(
            TranscriptSegment(
                start=chunk[0].start, end=chunk[-1].end, text=" ".join(w.text for w in chunk), words=chunk
            )
        )
        i += size
    if draw(st.booleans()):
        segments.append(TranscriptSegment(start=t + 1, end=t + 2, text="no words"))
    turns = [
        SpeakerTurn(start=s, end=s + d, speaker=draw(st.sampled_from(["A", "B", "C"])))
        for s, d in draw(st.lists(st.tuples(st.floats(0, 80), st.floats(0.01, 10)), min_size=1, max_size=12))
    ]
    return segments, turns


@settings(max_examples=150, deadline=None)
@given(segments_and_turns())
def test_assignment_properties(data: tuple[list[TranscriptSegment], list[SpeakerTurn]]) -> None:
    segments, turns = data
    out = assign_word_speakers(segments, turns)
    words_in = [w for s in segments for w in s.words]
    words_out = [w for s in out for w in s.words]
    assert words_out == words_in  # every word kept, text, timing and order unchanged
    assert {s.speaker for s in out} <= {t.speaker for t in turns}
    for seg in out:
        if seg.words:
            assert seg.text == " ".join(w.text for w in seg.words)
    assert len(out) >= len(segments)


@settings(max_examples=100, deadline=None)
@given(segments_and_turns())
def test_a_word_inside_one_turn_gets_that_speaker(
    data: tuple[list[TranscriptSegment], list[SpeakerTurn]],
) -> None:
    segments, turns = data
    for seg in assign_word_speakers(segments, turns):
        for word in seg.words:
            inside = [t for t in turns if t.start <= word.start and word.end <= t.end]
            others = [
                t
                for t in turns
                if t not in inside
                and min(t.end, word.end) - max(t.start, word.start) >= word.end - word.start
            ]
            if word.end > word.start and inside and not others:
                assert seg.speaker in {t.speaker for t in inside}


def test_segment_is_split_where_the_speaker_changes() -> None:
    words = (
        Word(start=0.0, end=0.5, text="hello"),
        Word(start=0.6, end=1.0, text="there"),
        Word(start=1.6, end=2.0, text="hi"),
        Word(start=2.1, end=2.5, text="back"),
    )
    seg = TranscriptSegment(start=0.0, end=2.5, text="hello there hi back", words=words)
    turns = [SpeakerTurn(start=0.0, end=1.3, speaker="A"), SpeakerTurn(start=1.3, end=3.0, speaker="B")]
    out = assign_word_speakers([seg], turns)
    assert [(s.speaker, s.text, s.start, s.end) for s in out] == [
        ("A", "hello there", 0.0, 1.0),
        ("B", "hi back", 1.6, 2.5),
    ]


def test_no_overlap_takes_the_nearest_turn() -> None:
    seg = TranscriptSegment(start=10.0, end=11.0, text="late")
    turns = [SpeakerTurn(start=0.0, end=2.0, speaker="A"), SpeakerTurn(start=12.0, end=13.0, speaker="B")]
    assert assign_word_speakers([seg], turns)[0].speaker == "B"


def test_no_turns_leaves_segments_alone() -> None:
    seg = TranscriptSegment(start=0.0, end=1.0, text="x")
    assert assign_word_speakers([seg], []) == (seg,)


def test_merge_tracks_orders_by_time_and_labels_speakers() -> None:
    def tr(*spans: tuple[float, str]) -> Transcript:
        segs = tuple(TranscriptSegment(start=s, end=s + 1, text=t, speaker="ignored") for s, t in spans)
        return Transcript(language="en", duration_s=10, segments=segs)

    merged = merge_tracks({"alice": tr((0.0, "a1"), (4.0, "a2")), "bob": tr((2.0, "b1"), (4.0, "b2"))})
    assert [(s.speaker, s.text) for s in merged] == [
        ("alice", "a1"),
        ("bob", "b1"),
        ("alice", "a2"),
        ("bob", "b2"),
    ]


def test_rename_speakers() -> None:
    segs = (
        TranscriptSegment(start=0, end=1, text="x", speaker="SPEAKER_00"),
        TranscriptSegment(start=1, end=2, text="y"),
    )
    assert [s.speaker for s in rename_speakers(segs, {"SPEAKER_00": "민수"})] == ["민수", None]
