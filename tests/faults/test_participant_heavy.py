"""A group export with 10,000 authors: the star's style is accumulated in linear time (the names the star may
call others by were recomputed over every participant for each new one: minutes for this export)."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

import pytest

from core.personas.kakao.model import KakaoMessage
from core.personas.style.build import StyleAccumulator

pytestmark = pytest.mark.slow
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
SYLLABLES = "민서지수현우준영하은도윤예진성호태희정아"


def test_ten_thousand_authors_take_seconds_not_minutes() -> None:
    rng = random.Random(7)
    start_at = datetime(2023, 1, 1)
    messages: list[KakaoMessage] = []
    for i in range(10_000):
        author = rng.choice(SURNAMES) + rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + f" {i}"
        messages.append(
            KakaoMessage(
                time=start_at + timedelta(minutes=2 * i), author=author, kind="text", text="안녕하세요"
            )
        )
        messages.append(
            KakaoMessage(
                time=start_at + timedelta(minutes=2 * i + 1),
                author="엄마",
                kind="text",
                text="민수야 밥은 먹었어?",
            )
        )
    acc = StyleAccumulator("엄마")
    started = time.perf_counter()
    for message in messages:
        acc.add(message)
    elapsed = time.perf_counter() - started
    assert elapsed < 10.0, elapsed  # was about 100 s before (3,000 authors: 9.7 s, quadratic)
    assert acc.star_count == 10_000
    assert "민수야" in acc._address  # the names of participants first seen later are still recognised
