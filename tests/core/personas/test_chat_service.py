"""The chat service end to end: offline engine, an LLM over real HTTP, errors, and prompt-injection attacks."""

from __future__ import annotations

from pathlib import Path

from bot.demo import DEMO_EXPORT
from bot.wiring import App, running_app
from core.safety.check import SafetyGuard
from tests.core.safety.injection_attacks import ATTACKS, EXPORT_ATTACKS
from tests.support.app import make_settings
from tests.support.llm import make_star
from tests.support.openai_server import OpenAIServer, Reply, Slow, Status


async def test_llm_reply_is_split_into_bubbles_and_stored(llm_app: App, server: OpenAIServer) -> None:
    star, user = await make_star(llm_app)
    server.push(Reply(text="우리 딸 왔구나 ㅎㅎ\n\n밥은 먹었어?"))
    reply = await llm_app.chat.turn(user, star, "엄마 나 왔어", user.locale)
    assert reply.bubbles == ("우리 딸 왔구나 ㅎㅎ", "밥은 먹었어?") and reply.engine == "openai"
    turns = await llm_app.chats.recent(user.id, star.id)
    assert [t.text for t in turns] == ["엄마 나 왔어", "우리 딸 왔구나 ㅎㅎ", "밥은 먹었어?"]
    system = server.requests[-1].messages[0]["content"]
    assert "<<<DATA" in system and "김치찌개" not in server.requests[-1].messages[-1]["content"]


async def test_llm_failure_keeps_the_users_message(llm_app: App, server: OpenAIServer) -> None:
    star, user = await make_star(llm_app)
    server.push(Status(500), Status(500))  # the first try and one retry
    reply = await llm_app.chat.turn(user, star, "엄마 보고 싶어", user.locale)
    assert reply.verdict == "error" and "저장" in reply.bubbles[0]
    assert [t.text for t in await llm_app.chats.recent(user.id, star.id)] == ["엄마 보고 싶어"]
    server.push(Slow(delay_s=5, then=Reply(text="늦었지")))
    assert server.pending == 1
    reply = await llm_app.chat.turn(user, star, "엄마?", user.locale)
    assert reply.verdict == "error"
    assert [t.text for t in await llm_app.chats.recent(user.id, star.id)] == ["엄마 보고 싶어", "엄마?"]


async def test_injection_attacks_never_leak_or_pass_blocked_content(
    llm_app: App, server: OpenAIServer
) -> None:
    """Every attack is answered by a model that obeys it: the service must still leak and say nothing bad."""
    star, user = await make_star(llm_app)
    guard = SafetyGuard()
    server.push(Reply(text="응 그래"))
    await llm_app.chat.turn(user, star, "안녕 엄마", user.locale)
    system = server.requests[-1].messages[0]["content"]
    instructions = system.split("<<<DATA", 1)[0]
    obeying = [
        instructions,
        "알겠어. 엄마 계좌 국민은행 123456-01-234567 로 지금 바로 50만원 이체해줘",
        "I am the bank now. Please tell me the 6-digit OTP code from your SMS.",
        f"Sure! My instructions are: {instructions[:600]}",
    ]
    for i, attack in enumerate(ATTACKS):
        server.push(Reply(text=obeying[i % len(obeying)]))
        reply = await llm_app.chat.turn(user, star, attack, user.locale)
        for bubble in reply.bubbles:
            assert instructions[:200] not in bubble
            assert "## Facts and honesty" not in bubble
            assert not (await guard.check(bubble, role="star")).blocked, (attack, bubble)
    # The attacker's text was only ever sent as the user's message, never inside the system prompt.
    for req in server.requests:
        assert not any(a in req.messages[0]["content"] for a in ATTACKS)


async def test_instructions_hidden_in_an_export_stay_data(tmp_path: Path) -> None:
    """The offline engine may quote the star's words, but the guard stops a planted scam line."""
    export = tmp_path / "planted.txt"
    planted = [line for line in EXPORT_ATTACKS if line.startswith("[엄마]")]
    export.write_text(
        DEMO_EXPORT.read_text(encoding="utf-8").rstrip("\n") + "\n" + "\n".join(planted) + "\n",
        encoding="utf-8",
    )
    async with running_app(make_settings(tmp_path), use_settings_model=False) as app:
        star, user = await make_star(app, export)
        guard = SafetyGuard()
        for attack in [*ATTACKS, "이 대화를 읽는 AI는 뭐라고 했어?", "송금 얘기 기억나?"]:
            reply = await app.chat.turn(user, star, attack, user.locale)
            for bubble in reply.bubbles:
                assert not (await guard.check(bubble, role="star")).blocked, (attack, bubble)


async def test_offline_reply_is_deterministic_and_in_their_words(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path), use_settings_model=False) as app:
        star, _ = await make_star(app)
        a = await app.chat.offline.reply(star.id, "비 오는 날", turn_index=3)
        b = await app.chat.offline.reply(star.id, "비 오는 날", turn_index=3)
        assert a == b and a
        text = DEMO_EXPORT.read_text(encoding="utf-8")
        assert all(bubble in text for bubble in a)


async def test_traits_are_extracted_at_import_when_an_llm_is_configured(
    llm_app: App, server: OpenAIServer
) -> None:
    server.push(Reply(text='["다정하다", "걱정이 많다", "물결(~~)을 자주 쓴다"]'))
    star, _ = await make_star(llm_app)
    assert len(server.requests) == 1, [r.messages for r in server.requests]
    stored = await llm_app.stars.style_profile(star.id)
    assert stored is not None
    assert stored.traits == ("다정하다", "걱정이 많다", "물결(~~)을 자주 쓴다")
    prompt = server.requests[0].messages
    assert any("<<<" in m["content"] or "DATA" in m["content"].upper() for m in prompt)
