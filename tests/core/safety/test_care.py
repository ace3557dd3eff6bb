"""Care after a crisis: saying one is safe, and the pause / return states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.safety.care import CareOptions, CareState, care_state, check_in, paused_reply, says_safe

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["응 나 이제 괜찮아", "괜찮아요", "안전해요", "I'm safe now", "im ok", "feeling better"]
)
def test_says_safe(text: str) -> None:
    assert says_safe(text)


@pytest.mark.parametrize(
    "text", ["엄마 보고 싶어", "밥 먹었어?", "I miss you", "I'm not okay at all", "나 안 괜찮아", "안괜찮아"]
)
def test_not_a_safe_statement(text: str) -> None:
    assert not says_safe(text)


def test_states() -> None:
    opts = CareOptions(cooldown=timedelta(hours=12))
    assert care_state(None, NOW, opts) is CareState.NORMAL
    assert care_state(("crisis", NOW - timedelta(hours=1)), NOW, opts) is CareState.PAUSED
    assert care_state(("crisis", NOW - timedelta(hours=13)), NOW, opts) is CareState.RETURNING
    assert care_state(("safe", NOW - timedelta(minutes=1)), NOW, opts) is CareState.RETURNING
    assert care_state(("checkin", NOW), NOW, opts) is CareState.NORMAL


def test_texts_say_it_is_an_ai_and_give_lines() -> None:
    assert "AI" in paused_reply("ko", "엄마") and "109" in paused_reply("ko", "엄마")
    assert "988" in paused_reply("en", "Mom") and "AI" in check_in("en")
