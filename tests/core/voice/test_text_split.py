"""Sentence splitting within length limits, Korean and English."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.voice.text_split import TextTooLong, check_length, normalize_text, split_sentences, split_text


def _letters(text: str) -> str:
    return "".join(text.split())


def test_korean_and_english_sentence_ends() -> None:
    text = '안녕하세요. 오늘 날씨 좋네요!밥은 먹었어?  응.알았어 Really? "Yes." Fine… 끝'
    assert split_sentences(text) == [
        "안녕하세요.",
        "오늘 날씨 좋네요!",
        "밥은 먹었어?",
        "응.",
        "알았어 Really?",
        '"Yes."',
        "Fine…",
        "끝",
    ]


def test_full_width_punctuation_and_line_breaks_end_sentences() -> None:
    assert split_sentences("보고 싶어！ 잘 지내？\n사랑해\n\n고마워") == [
        "보고 싶어！",
        "잘 지내？",
        "사랑해",
        "고마워",
    ]


def test_decimals_and_abbreviations_stay_whole() -> None:
    assert split_sentences("It costs 3.5 dollars at vos.ai today.") == [
        "It costs 3.5 dollars at vos.ai today."
    ]


def test_short_sentences_are_packed_up_to_the_limit() -> None:
    chunks = split_text("하나. 둘. 셋. 넷.", max_chars=8)
    assert chunks == ["하나. 둘.", "셋. 넷."]


def test_long_sentence_without_punctuation_cut_at_spaces() -> None:
    text = " ".join(["엄마가"] * 60)
    chunks = split_text(text, max_chars=95)
    assert all(len(c) <= 95 for c in chunks)
    assert len(chunks) >= 3
    assert all(not c.startswith(" ") and "엄마" in c for c in chunks)
    assert _letters(" ".join(chunks)) == _letters(text)


def test_long_sentence_prefers_clause_marks() -> None:
    text = (
        "When we went to the sea, you laughed at the waves, and I remember that day more than any other day."
    )
    chunks = split_text(text, max_chars=50)
    assert chunks[0] == "When we went to the sea, you laughed at the waves,"


def test_one_long_word_is_cut_hard() -> None:
    chunks = split_text("가" * 200, max_chars=95)
    assert [len(c) for c in chunks] == [95, 95, 10]


def test_control_characters_are_removed() -> None:
    assert normalize_text("a\x00b\x1b[31m  c\r\n\n d") == "a b [31m c\nd"


def test_length_guard() -> None:
    assert check_length("  hi  ", 5) == "hi"
    with pytest.raises(TextTooLong) as info:
        check_length("x" * 6, 5)
    assert info.value.length == 6


def test_bad_limit_is_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        split_text("hi", 0)


_alphabet = st.sampled_from(list("가나다라 abc.,!?。\n…\t"))


@given(text=st.text(alphabet=_alphabet, max_size=400), limit=st.integers(min_value=1, max_value=120))
def test_chunks_keep_every_character_within_the_limit(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert _letters("".join(chunks)) == _letters(normalize_text(text))
