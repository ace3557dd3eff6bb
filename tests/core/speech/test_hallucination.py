"""Whisper hallucination filters on hand-made segments."""

from __future__ import annotations

import pytest

from core.domain.audio import TranscriptSegment, Word
from core.speech.hallucination import (
    HallucinationFilter,
    collapse_repeats,
    drop_repeated_segments,
    filter_segments,
    is_low_confidence,
    is_subtitle_credit,
)


def seg(text: str, start: float = 0.0, end: float = 1.0, **kw: float) -> TranscriptSegment:
    return TranscriptSegment(start=start, end=end, text=text, **kw)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for watching!",
        "Thank you for watching.",
        "Subtitles by the Amara.org community",
        "시청해주셔서 감사합니다.",
        "시청해 주셔서 감사합니다",
        "구독과 좋아요 부탁드립니다.",
        "MBC 뉴스 이덕영입니다.",
        "한글자막 by 한효정",
    ],
)
def test_subtitle_credits_are_detected(text: str) -> None:
    assert is_subtitle_credit(text)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for watching the demo yesterday, the budget numbers look wrong to me.",
        "뉴스 기사를 보고 회의 안건을 정했습니다.",
        "다음 주 금요일까지 보고서를 제출해 주세요.",
        "",
    ],
)
def test_real_speech_is_not_a_credit(text: str) -> None:
    assert not is_subtitle_credit(text)


def test_low_confidence_needs_both_signals() -> None:
    assert is_low_confidence(seg("hm", no_speech_prob=0.9, avg_logprob=-1.5))
    assert not is_low_confidence(seg("hm", no_speech_prob=0.9, avg_logprob=-0.2))
    assert not is_low_confidence(seg("hm", no_speech_prob=0.1, avg_logprob=-1.5))


def test_loop_inside_a_segment_collapses_to_one_copy() -> None:
    out = collapse_repeats(seg("we agreed thank you thank you thank you thank you so"))
    assert out.text == "we agreed thank you so"


def test_two_repeats_are_kept_as_speech() -> None:
    s = seg("no no that is wrong")
    assert collapse_repeats(s) is s


def test_loop_collapse_keeps_word_timings() -> None:
    words = tuple(
        Word(start=i * 0.5, end=i * 0.5 + 0.4, text=t) for i, t in enumerate(["오", "뭐", "뭐", "뭐", "뭐"])
    )
    out = collapse_repeats(TranscriptSegment(start=0.0, end=2.5, text="오 뭐 뭐 뭐 뭐", words=words))
    assert [w.text for w in out.words] == ["오", "뭐"]
    assert out.text == "오 뭐"
    assert out.words[-1].start == pytest.approx(2.0)


def test_repeated_segments_across_the_timeline() -> None:
    segs = [
        seg("Okay.", 0, 1),
        seg("okay", 1, 2),
        seg("OKAY!", 2, 3),
        seg("Next item.", 3, 4),
        seg("Yes.", 4, 5),
        seg("Yes.", 5, 6),
    ]
    out = drop_repeated_segments(segs)
    assert [s.text for s in out] == ["Okay.", "Next item.", "Yes.", "Yes."]


def test_filter_segments_applies_every_rule() -> None:
    segs = [
        seg("Let's start with the budget.", 0, 2),
        seg("silence", 2, 3, no_speech_prob=0.95, avg_logprob=-2.0),
        seg("Thanks for watching!", 3, 4),
        seg("I will send it by Friday Friday Friday Friday.", 4, 6),
    ]
    out = filter_segments(segs)
    assert [s.text for s in out] == ["Let's start with the budget.", "I will send it by Friday."]


def test_thresholds_are_configurable() -> None:
    loose = HallucinationFilter(no_speech_threshold=0.99)
    kept = filter_segments([seg("quiet words", no_speech_prob=0.95, avg_logprob=-2.0)], loose)
    assert len(kept) == 1
