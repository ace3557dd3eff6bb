"""The conservative token estimate."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.personas.tokens import estimate_tokens


def test_empty_is_zero_and_anything_else_at_least_one() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("ㅋㅋ") == 3


def test_hangul_counts_more_than_one_token_per_syllable() -> None:
    # Byte-fallback tokenizers need 2-3 tokens for a rare syllable; modern ones about 1. Err high.
    assert estimate_tokens("밥은 먹었어?") >= 7
    assert estimate_tokens("가" * 100) == 150


def test_english_is_about_four_characters_a_token_or_more_tokens() -> None:
    text = "Did you eat dinner yet? Call me when you get home, okay?"
    assert len(text) / 4.5 <= estimate_tokens(text) <= len(text)


def test_emoji_counts_by_bytes() -> None:
    assert estimate_tokens("😀") == 3


@given(st.text(max_size=200), st.text(max_size=200))
def test_estimate_is_subadditive_within_rounding(a: str, b: str) -> None:
    # Prompt assembly sums the estimates of parts: the sum must never undercount the whole.
    assert estimate_tokens(a + b) <= estimate_tokens(a) + estimate_tokens(b) + 1
