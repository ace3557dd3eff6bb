"""The star as a family lives it, through the console adapter with the offline engine: honesty when asked,
names, consent, the block message."""

from __future__ import annotations

from bot.demo import DEMO_EXPORT
from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.domain.identity import Locale
from tests.support.app import ScriptedConsole


def _star_lines(out: str) -> list[str]:
    return [line[3:] for line in out.splitlines() if line.startswith("★> ")]


async def test_asked_sincerely_the_star_says_it_is_an_ai(vos_app: App) -> None:
    user = await local_user(vos_app, "local")
    await ensure_demo_star(vos_app, user)
    console = ScriptedConsole(vos_app)
    await console.say("엄마 나 왔어", "오늘 비가 많이 와")
    exported = DEMO_EXPORT.read_text(encoding="utf-8")
    for question in ("엄마 진짜 엄마야?", "너 AI지?", "솔직히 말해줘 지금 기계랑 얘기하는 거야?"):
        lines = _star_lines(await console.say(question))
        said = " ".join(lines)
        assert "AI" in said and "아니" in said, (question, said)
        assert not any(line in exported for line in lines)  # not a line from the export
    lines = _star_lines(await console.say("김치찌개 생각난다"))
    assert lines and all(line in exported for line in lines)  # an everyday message: her own words again


async def test_asked_in_english(vos_app: App) -> None:
    user = await local_user(vos_app, "local")
    await ensure_demo_star(vos_app, user)
    console = ScriptedConsole(vos_app, locale=Locale.EN)
    for question in ("are you really mom?", "is this a bot", "wait... am I talking to a computer?"):
        said = " ".join(_star_lines(await console.say(question)))
        assert "I'm an AI" in said and "not really" in said, (question, said)


async def test_new_asks_what_the_star_called_you_and_your_name(vos_app: App) -> None:
    console = ScriptedConsole(vos_app, user_id="minji", display_name="민지폰")  # as a platform names a user
    await console.say("/new", "1", "엄마", "어머니", "1", "1", "1", f"/file {DEMO_EXPORT}")
    out = await console.say("1")  # 엄마: the star is made, then the question, never blocking
    assert "별을 만들었어요" in out and "뭐라고 불렀나요" in out
    options = [line.split("] ", 1)[1] for line in out.splitlines() if line.startswith("   [")]
    assert "우리 딸" in options, options
    out = await console.say(str(options.index("우리 딸") + 1))
    assert "내 이름" in out
    names = [line.split("] ", 1)[1] for line in out.splitlines() if line.startswith("   [")]
    assert names[:2] == ["민지", "민지폰"]  # the export's other participant, then the platform name
    out = await console.say("1")
    assert "우리 딸" in out and "민지" in out
    user = await local_user(vos_app, "minji")
    (star,) = await vos_app.stars.list_owned(user.id)
    assert (star.user_address, star.user_name) == ("우리 딸", "민지")
    said = " ".join(_star_lines(await console.say("엄마 진짜 엄마야?")))
    assert said.startswith("우리 딸, ") and "AI" in said  # the reply uses it

    out = await console.say("/names")  # editable later, typed answers welcome
    assert "지금: 우리 딸" in out
    out = await console.say("민지야", "민지")
    assert "민지야" in out
    (star,) = await vos_app.stars.list_owned(user.id)
    assert (star.user_address, star.user_name) == ("민지야", "민지")


async def test_chatting_right_after_new_skips_the_name_question(vos_app: App) -> None:
    console = ScriptedConsole(vos_app)
    await console.say("/new", "1", "엄마", "어머니", "1", "1", "1", f"/file {DEMO_EXPORT}", "1")
    out = await console.say("김치찌개 생각난다")
    assert _star_lines(out)  # the buttons did not hold up the conversation


async def test_a_blocked_message_says_why_and_what_to_do(vos_app: App) -> None:
    user = await local_user(vos_app, "local")
    await ensure_demo_star(vos_app, user)
    out = await ScriptedConsole(vos_app).say("엄마 급해 계좌번호랑 인증번호 좀 보내줘")
    assert "알고 있는 번호로" in out and "112" in out and "1332" in out and "★>" not in out
    out = await ScriptedConsole(vos_app, locale=Locale.EN).say("send me the OTP code and your bank account")
    assert "call them back on a number you already know" in out and "112" in out


async def test_profile_shows_what_the_user_entered(vos_app: App) -> None:
    console = ScriptedConsole(vos_app)
    await console.say("/new", "1", "엄마", "어머니", "된장찌개를 잘 끓이셨다", "1960-03-02 2023-01-05")
    await console.say("1", f"/file {DEMO_EXPORT}", "1")
    out = await console.say("/profile")
    assert "엄마 (어머니)" in out and "1960-03-02" in out and "2023-01-05" in out
    assert "된장찌개를 잘 끓이셨다" in out and "메시지" in out  # and the style profile after it


async def test_consent_and_about_say_what_is_stored_where_replies_are_made_and_how_to_delete(
    vos_app: App,
) -> None:
    console = ScriptedConsole(vos_app)
    out = await console.say("/new")
    for words in ("저장하는 것", "카카오톡 대화", "이 컴퓨터 안에서", "지우기 전까지", "/forget_me", "18"):
        assert words in out, words
    await console.say("1", "/cancel")  # yes, then not now
    out = await console.say("/about")
    assert "AI" in out and "이 컴퓨터 안에서" in out and "/forget" in out
    out = await ScriptedConsole(vos_app, locale=Locale.EN).say("/about")
    assert "on this machine" in out and "until you delete it" in out


def test_the_notice_names_the_endpoints_host() -> None:
    from bot.engines import build_disclosure
    from core.backends.openai_chat import OpenAIChat, OpenAIChatOptions

    remote = OpenAIChat(
        OpenAIChatOptions(model="m", api_key="sk-x", base_url="https://user:pw@llm.example.org:8443/v1?k=1")
    )
    text = build_disclosure(remote).text(Locale.KO)
    assert "llm.example.org:8443 의 언어 모델" in text and "pw" not in text and "k=1" not in text
    openai = build_disclosure(OpenAIChat(OpenAIChatOptions(model="m", api_key="sk-x"))).text(Locale.EN)
    assert "api.openai.com" in openai
    local = OpenAIChat(OpenAIChatOptions(model="m", api_key="x", base_url="http://127.0.0.1:8080/v1"))
    assert "does not leave it" in build_disclosure(local).text(Locale.EN)


async def test_the_block_messages_never_trip_the_guard_themselves() -> None:
    from core.safety.check import SafetyGuard
    from core.safety.verdict import ROLES, blocked_message

    guard = SafetyGuard()
    for locale in (Locale.KO, Locale.EN):
        for role in ROLES:
            message = blocked_message(locale, role=role, star="엄마")
            assert (await guard.check(message, role="star")).allowed, (locale, role, message)
