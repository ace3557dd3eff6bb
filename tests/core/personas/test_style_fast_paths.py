"""The import's fast style paths give the regex tables' answers on every text, in linear time."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest

from core.personas.kakao import KakaoMessage
from core.personas.style import StyleAccumulator
from core.personas.style import text as st

_PIECES = [
    *"ㅋㅎㅠㅜTt_;.~!?… \n가나다라마바사아야여자당얘똥딸애강공왕막우리민수영희lolLOLhaeHEsonſKK^:-)(D<3>ㅡㅅㅇ😀☀abcXYZ019",
    "아들", "민수야", "영희", "honey", "Sweetie", "여보", "ㅋㅋㅋ", "haha", "hehe", "lmao", "T_T", ";_;", "...",
    "?!", "우리 딸", "지훈아", "Kim", "Jane", "❤️", "^^", "-_-", "ㅡㅡ", "ㅎㅅㅎ", "  ", "Ha Ha", "T.T",
]  # fmt: skip


def _texts(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 24))) for _ in range(count)]


def _by_regex(text: str) -> tuple[set[str], set[str], set[str]]:
    def hits(table: dict[str, object]) -> set[str]:
        return {key for key, rx in table.items() if rx.search(text)}  # type: ignore[attr-defined]

    return hits(st.LAUGHTER), hits(st.CRYING), hits(st.PUNCTUATION)


def test_marker_substring_tests_agree_with_the_regex_tables() -> None:
    for text in _texts(20_000):
        laughs, cries, punctuation = Counter[str](), Counter[str](), Counter[str]()
        latin = st.LATIN.search(text) is not None
        st.count_markers(text, laughs, cries, punctuation, latin=latin)
        assert (set(laughs), set(cries), set(punctuation)) == _by_regex(text), text
        assert st.laugh_tokens(text, latin=latin) == st.LAUGH_TOKEN.findall(text), text
        assert st.emoticons(text) == st.EMOTICONS.findall(text), text


def test_name_index_finds_what_the_name_list_finds() -> None:
    rng = random.Random(9)
    people = [f"{rng.choice('김이박')}{rng.choice('민영지')}{rng.choice('수희훈')}" for _ in range(40)]
    people += ["Jane Kim", "엄마 (김영희)", "[아빠], 최", "Bob", "ſam"]
    for size in (1, 3, 45):
        index = st.GivenNames(people[:size])
        names = st.given_names(people[:size])
        for text in _texts(3_000, seed=size):
            for sample in (text, text + "민수야", "Jane " + text):
                expected = sorted(set(st.address_terms(sample, names)))
                assert sorted(set(st.address_terms(sample, index))) == expected, (size, sample)


def test_ten_thousand_participants_profile_in_linear_time() -> None:
    """Each new participant used to recompute every participant's names (139 s for 10,000 authors)."""
    start = datetime(2020, 1, 1)
    accumulator = StyleAccumulator("엄마")
    began = time.process_time()
    for i in range(10_000):
        when = start + timedelta(minutes=i)
        accumulator.add(KakaoMessage(time=when, author=f"김민{i}", kind="text", text="안녕하세요"))
        accumulator.add(KakaoMessage(time=when, author="엄마", kind="text", text="민수야 밥 먹었니"))
    profile = accumulator.profile()
    assert time.process_time() - began < 5
    assert ("민수야", 10_000) in profile.address_terms


def test_texts_counted_per_window_and_remembered_count_as_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The profile counts a window of texts at once and a repeated text from a memo: the result is the
    one counted text by text without a memo, also when the word counters are pruned, the memo fills up,
    a new participant's name appears mid-window and the profile is read mid-stream."""
    from core.personas.style import build

    rng = random.Random(3)
    texts = [
        *_texts(400, seed=11),
        "민수야 밥 먹었니",
        "지훈아 ㅋㅋㅋ",
        "우리 딸 사랑해~~",
        "응",
        "네!!",
        "수희야",
    ]
    texts += [" ".join(_texts(3, seed=i)) for i in range(600)]  # many distinct words: pruned
    start = datetime(2021, 3, 1)
    others = ["김민수", "이지훈", "박수희", "Jane Kim"]
    stream = [
        KakaoMessage(
            time=start + timedelta(minutes=i // 3),
            author="엄마" if rng.random() < 0.7 else others[min(i // 1_500, 3)],
            kind="text",
            text=rng.choice(texts),
        )
        for i in range(6_000)
    ]

    def profile() -> list[object]:
        accumulator = StyleAccumulator("엄마")
        middle = None
        for i, message in enumerate(stream):
            accumulator.add(message)
            if i == 3_333:
                middle = accumulator.profile().to_dict()
        return [middle, accumulator.profile().to_dict(), accumulator.samples()]

    monkeypatch.setattr(build, "_COUNTER_CAP", 400)
    monkeypatch.setattr(build, "_PRUNE_EVERY", 256)
    monkeypatch.setattr(build, "_WINDOW", 128)
    monkeypatch.setattr(build, "_MEMO_SIZE", 50)  # full and cleared many times over
    windowed = profile()
    monkeypatch.setattr(build, "_WINDOW", 1)
    monkeypatch.setattr(build, "_MEMO_CHARS", -1)  # nothing remembered
    assert windowed == profile()
    final = windowed[1]
    assert isinstance(final, dict)
    assert "민수야" in {term for term, _ in final["address_terms"]}
