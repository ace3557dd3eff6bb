"""Splitting model output into bubbles, and the typing pause."""

from __future__ import annotations

import pytest

from core.personas.replies import BUBBLE_DELIMITER, MAX_BUBBLE_CHARS, split_bubbles, typing_pause_s


def test_blank_lines_separate_bubbles() -> None:
    assert split_bubbles("밥은 먹었니\n\n오늘 춥다\n\n\n따뜻하게 입어") == [
        "밥은 먹었니",
        "오늘 춥다",
        "따뜻하게 입어",
    ]


def test_explicit_delimiter_separates_bubbles() -> None:
    assert split_bubbles(f"응 {BUBBLE_DELIMITER} 알았어{BUBBLE_DELIMITER}조심해") == [
        "응",
        "알았어",
        "조심해",
    ]


def test_short_lines_without_blank_lines_are_bubbles() -> None:
    assert split_bubbles("응\n밥 먹었어?\nㅎㅎ") == ["응", "밥 먹었어?", "ㅎㅎ"]


def test_a_long_multiline_message_stays_one_bubble() -> None:
    long_line = ("오늘은 정말 긴 하루였어. " * 6).strip()
    text = f"{long_line}\n{long_line}"
    assert split_bubbles(text) == [text.strip()]


def test_role_prefixes_dates_and_quotes_are_stripped() -> None:
    text = "\n\n".join(
        [
            "엄마: 그래 아들",
            "[2023-01-05] [오후 3:04] 엄마: 밥은?",
            'assistant: "ㅎㅎ 잘자"',
            "**엄마**: 사랑해",
        ]
    )
    assert split_bubbles(text, names=["엄마"]) == ["그래 아들", "밥은?", "ㅎㅎ 잘자", "사랑해"]


def test_other_colons_are_kept() -> None:
    assert split_bubbles("시간은 3:30 이야\n\n참고로 내일 봐", names=["엄마"]) == [
        "시간은 3:30 이야",
        "참고로 내일 봐",
    ]


def test_echoed_fences_and_empty_bubbles_are_dropped() -> None:
    text = "<<<DATA memories abc123>>>\n\n   \n\n응\n\n<<<END memories abc123>>>"
    assert split_bubbles(text) == ["응"]


def test_extra_bubbles_are_joined_into_the_last_one() -> None:
    text = "\n\n".join(["하나", "둘", "셋", "넷", "다섯", "여섯", "일곱"])
    assert split_bubbles(text, max_bubbles=5) == ["하나", "둘", "셋", "넷", "다섯 여섯 일곱"]


def test_bubble_length_is_capped() -> None:
    [bubble] = split_bubbles("가" * (MAX_BUBBLE_CHARS * 2))
    assert len(bubble) == MAX_BUBBLE_CHARS
    assert bubble.endswith("…")


def test_crlf_and_empty_input() -> None:
    assert split_bubbles("응\r\n\r\n그래") == ["응", "그래"]
    assert split_bubbles("  \n\n ") == []
    with pytest.raises(ValueError):
        split_bubbles("응", max_bubbles=0)


def test_typing_pause_is_short_proportional_and_capped() -> None:
    short, longer = typing_pause_s("응"), typing_pause_s("오늘 저녁은 뭐 먹었어? 따뜻하게 챙겨 먹어")
    assert 0.3 <= short < longer <= 2.5
    assert typing_pause_s("가" * 5000) == 2.5
    assert typing_pause_s("   ") == 0.0
