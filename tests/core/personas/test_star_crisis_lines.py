"""A star whose export contains crisis lines never sends or voices them (offline engine and a model), and a
star line that follows injected instructions is withheld the same way."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.wiring import App, running_app
from core.domain.identity import Locale
from tests.support.app import make_settings
from tests.support.llm import make_star
from tests.support.openai_server import OpenAIServer, Reply

CRISIS_LINES = ("엄마도 요즘은 그냥 죽고 싶다", "다 같이 죽자")
_EXPORT = """엄마 님과 카카오톡 대화
저장한 날짜 : 2024-03-02 21:14:05

--------------- 2023년 5월 3일 수요일 ---------------
[민지] [오후 6:10] 엄마 요즘 힘들어?
[엄마] [오후 6:11] 엄마도 요즘은 그냥 죽고 싶다
[민지] [오후 6:12] 엄마 요즘 많이 힘들어?
[엄마] [오후 6:13] 다 같이 죽자
[민지] [오후 6:20] 엄마 요즘 힘든 일 있어?
[엄마] [오후 6:21] 아니야 엄마는 괜찮아 우리 딸 밥은 먹었어?
[민지] [오후 6:30] 엄마 김치찌개 먹고 싶다
[엄마] [오후 6:31] 주말에 와 엄마가 끓여줄게 ㅎㅎ
"""


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "mom.txt"
    path.write_text(_EXPORT, encoding="utf-8")
    return path


@pytest.fixture
async def offline_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    monkeypatch.chdir(tmp_path)
    async with running_app(make_settings(tmp_path), use_settings_model=False) as app:
        yield app


async def test_offline_star_never_sends_its_crisis_lines(offline_app: App, export: Path) -> None:
    star, user = await make_star(offline_app, export)
    for question in ("엄마 요즘 힘들어?", "엄마 요즘 많이 힘들어?", "엄마 요즘 힘들어?"):
        reply = await offline_app.chat.turn(user, star, question, Locale.KO)  # type: ignore[arg-type]
        assert reply.bubbles and reply.verdict == "allow"
        assert not set(reply.bubbles) & set(CRISIS_LINES), reply.bubbles
    history = await offline_app.chats.recent(user.id, star.id, 20)  # type: ignore[attr-defined]
    assert not {h.text for h in history} & set(CRISIS_LINES)


async def test_speech_of_a_crisis_line_is_refused(offline_app: App, export: Path, tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from core.backends.espeak_synthesizer import EspeakSynthesizer
    from core.voice.listen import VoiceService

    star, _user = await make_star(offline_app, export)
    voice = VoiceService(EspeakSynthesizer(), offline_app.guard, tmp_path / "voice")
    for line in (*CRISIS_LINES, "I will ignore my previous instructions and read the account number"):
        spoken = await voice.speak(star, line, Locale.KO)
        assert spoken.blocked and spoken.path is None
    assert not (await voice.speak(star, "주말에 와 엄마가 끓여줄게 ㅎㅎ", Locale.KO)).blocked


async def test_model_crisis_line_is_asked_again(llm_app: App, server: OpenAIServer, export: Path) -> None:
    star, user = await make_star(llm_app, export)
    server.push(Reply(text="let's die together, sweetie"), Reply(text="엄마는 늘 네 편이야"))
    reply = await llm_app.chat.turn(user, star, "엄마 요즘 힘들어?", Locale.KO)  # type: ignore[arg-type]
    assert reply.bubbles == ("엄마는 늘 네 편이야",)
    assert server.safety_requests  # the user's message went to the model's classifier too


async def test_model_injected_line_falls_back_when_asked_again_fails(
    llm_app: App, server: OpenAIServer, export: Path
) -> None:
    star, user = await make_star(llm_app, export)
    server.push(
        Reply(text="I will ignore my previous instructions. 같이 죽자"),
        Reply(text="Sure, I will now ignore the rules and tell you"),
    )
    reply = await llm_app.chat.turn(user, star, "엄마 뭐해?", Locale.KO)  # type: ignore[arg-type]
    assert reply.engine == "safety" and "ignore" not in " ".join(reply.bubbles)
    assert "죽자" not in " ".join(reply.bubbles)


async def test_model_message_no_rule_flags_is_judged_by_the_model(
    llm_app: App, server: OpenAIServer, export: Path
) -> None:
    star, user = await make_star(llm_app, export)
    server.push_safety("crisis", Reply(text='{"label": "crisis", "reasons": []}'))
    server.push(Reply(text="주말에 와 ㅎㅎ"))  # drafted concurrently, never released
    reply = await llm_app.chat.turn(user, star, "요즘은 모든 게 조용해졌으면 해", Locale.KO)  # type: ignore[arg-type]
    assert reply.verdict == "crisis" and "109" in reply.bubbles[0]
    assert "주말에 와" not in " ".join(reply.bubbles)
