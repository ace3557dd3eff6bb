"""The offline engine's reply composer: only the star's own words, deterministic."""

from __future__ import annotations

from core.personas.offline_compose import ReplyCandidate, compose_offline_reply

CANDIDATES = [
    ("밥 먹었어?", ["응 먹었지", "너는?"], 0.9),
    ("점심 뭐 먹었어", ["김치찌개 ㅎㅎ"], 0.85),
    ("오늘 날씨 어때", ["춥다 따뜻하게 입어"], 0.3),
    ("사진 보내줘", ["사진"], 0.95),  # a placeholder is not something to say
]


def test_picks_a_real_reply_to_a_similar_message() -> None:
    reply = compose_offline_reply(CANDIDATES, "엄마 밥 먹었어?", seed=7)
    assert reply in (["응 먹었지", "너는?"], ["김치찌개 ㅎㅎ"])


def test_is_deterministic_and_ignores_input_order() -> None:
    first = compose_offline_reply(CANDIDATES, "밥 먹었어?", seed=1)
    again = compose_offline_reply(list(reversed(CANDIDATES)), "밥  먹었어?", seed=1)
    assert first == again


def test_different_seeds_or_messages_can_vary_but_stay_in_the_star_words() -> None:
    allowed = [["응 먹었지", "너는?"], ["김치찌개 ㅎㅎ"]]
    replies = {tuple(compose_offline_reply(CANDIDATES, f"밥 먹었어? {i}", seed=i)) for i in range(30)}
    assert replies == {tuple(a) for a in allowed}


def test_avoids_repeating_what_was_just_said() -> None:
    for seed in range(10):
        reply = compose_offline_reply(CANDIDATES, "밥", seed=seed, recent=["응 먹었지", "너는?"])
        assert reply == ["김치찌개 ㅎㅎ"]


def test_falls_back_to_the_star_frequent_lines_when_nothing_is_similar() -> None:
    weak = [ReplyCandidate(past_user_text="주식 어때", star_reply=("몰라",), similarity=0.05)]
    reply = compose_offline_reply(weak, "양자역학 알아?", seed=3, fallback_lines=["ㅎㅎ", "그래", "사진"])
    assert reply in (["ㅎㅎ"], ["그래"])
    assert compose_offline_reply(weak, "양자역학 알아?", seed=3) == []


def test_caps_the_number_of_bubbles() -> None:
    long = [("안녕", [f"말 {i}" for i in range(10)], 0.9)]
    assert compose_offline_reply(long, "안녕", seed=0, max_bubbles=4) == ["말 0", "말 1", "말 2", "말 3"]
