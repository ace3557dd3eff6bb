"""What a new user sees in the console's first hour, in Korean and in English (found by trying it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.console.render import render
from bot.demo import DEMO_EXPORT
from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.domain.actions import SendFile, SendVoice
from core.domain.identity import Locale
from core.i18n import with_particle
from tests.adapters.console.test_console_terminal import ROOT, _read_until, console_on_pty
from tests.support.app import ScriptedConsole


def test_a_saved_file_is_announced_in_the_session_language() -> None:
    action = SendFile(path=Path("/data/x.zip"), filename="vos-엄마.zip", caption="데이터")
    (ko,) = render(action, locale=Locale.KO)
    (en,) = render(action, locale=Locale.EN)
    assert "저장됨" in ko and "saved" not in ko
    assert "saved" in en


def test_a_caption_of_several_lines_stays_under_its_message(tmp_path: Path) -> None:
    action = SendVoice(
        path=tmp_path / "m.ogg", duration_s=2.0, caption="🎙 엄마 · 실제 녹음 · 00:12\n“밥 먹었니”"
    )
    (line,) = render(action, locale=Locale.KO)
    first, second = line.split("\n")
    assert first.startswith("VOS> ") and second.startswith("     “밥")


async def test_export_in_a_korean_session_has_no_english_line(vos_app: App) -> None:
    user = await local_user(vos_app, "local", Locale.KO)
    await ensure_demo_star(vos_app, user)
    console = ScriptedConsole(vos_app)
    out = await console.say("밥 먹었어?", "/export")
    export_line = next(line for line in out.splitlines() if ".zip" in line)
    assert "저장됨: " in export_line and " saved" not in export_line, export_line


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("엄마", "엄마가 엄마는 엄마와 엄마를 엄마로"),
        ("민준", "민준이 민준은 민준과 민준을 민준으로"),
        ("서울", "서울이 서울은 서울과 서울을 서울로"),
        ("엄마3", "엄마3이 엄마3은 엄마3과 엄마3을 엄마3으로"),
        ("Dad", "Dad(이)가 Dad(은)는 Dad(과)와 Dad(을)를 Dad(으)로"),
    ],
)
def test_korean_particles_follow_the_name(word: str, expected: str) -> None:
    specs = ("이", "는", "과", "을", "으로")
    assert " ".join(with_particle(word, spec) for spec in specs) == expected


async def test_the_ai_notice_names_a_mother_without_an_honorific_suffix(vos_app: App) -> None:
    """엄마님 reads as stilted; the user's own word for her is used, with the particle it takes."""
    user = await local_user(vos_app, "local", Locale.KO)
    await ensure_demo_star(vos_app, user)
    out = await ScriptedConsole(vos_app).say("밥 먹었어?", "/about")
    assert "엄마님" not in out
    assert "실제 엄마가 아니에요" in out and "엄마가 실제로 보냈던" in out


def test_a_terminal_chat_keeps_log_lines_out_of_the_conversation(tmp_path: Path) -> None:
    """`vos console` on a terminal: the banner in the session's language, the log in <data dir>/vos.log."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOS_TEST_", "VOS_LOG"))}
    env.update(VOS_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    proc, leader = console_on_pty("ko", env, tmp_path)
    try:
        seen = _read_until(leader, b"you> ", 120).decode()
        os.write(leader, b"/quit\n")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    assert " INFO " not in seen and "Traceback" not in seen, seen
    assert "/help" in seen and "나가려면" in seen and str(data / "vos.log") in seen
    assert seen.index("데모 별(엄마)을 준비하는 중") < seen.index("나가려면")  # the wait is announced
    assert "demo star created" in (data / "vos.log").read_text(encoding="utf-8")


async def test_the_console_user_id_is_never_offered_or_greeted_as_a_name(vos_app: App) -> None:
    """The console has no display name, only its user id ('local'): neither /start nor /new calls you that."""
    console = ScriptedConsole(vos_app)
    out = await console.say("/start")
    assert "안녕하세요." in out and "local" not in out
    await console.say("/new", "1", "엄마", "어머니", "1", "1", "1", f"/file {DEMO_EXPORT}", "1")
    out = await console.say("1")  # how she called you: the first found; then "and your own name?"
    assert "민지" in out and "local" not in out, out


async def test_the_ai_notice_is_given_once_even_when_the_first_message_is_stopped(vos_app: App) -> None:
    """A first message the guard stops stores no star reply; the next turns must not repeat the notice."""
    user = await local_user(vos_app, "local", Locale.KO)
    await ensure_demo_star(vos_app, user)
    console = ScriptedConsole(vos_app)
    out = await console.say("엄마 계좌번호 좀 알려줘", "엄마 밥 먹었어?", "엄마 뭐해?")
    assert out.count("AI가 씁니다") == 1, out
    assert "★> " in out


async def test_a_crisis_first_message_gets_the_help_lines_without_the_ai_notice_stacked_above(
    vos_app: App,
) -> None:
    """The care reply already says it is an AI; the notice comes once, with the star's first own words."""
    user = await local_user(vos_app, "local", Locale.KO)
    await ensure_demo_star(vos_app, user)
    console = ScriptedConsole(vos_app)
    first = await console.say("약 모아둔 거 오늘 다 먹을 거야")
    assert "109" in first and "AI가 씁니다" not in first, first
    later = await console.say("이제 괜찮아", "엄마 밥 먹었어?", "엄마 뭐해?")
    assert later.count("AI가 씁니다") == 1, later


async def test_forget_says_which_of_two_stars_of_one_name_it_deletes(vos_app: App) -> None:
    """The demo 엄마 and the user's own 엄마 side by side: the irreversible question names the relation."""
    user = await local_user(vos_app, "local", Locale.KO)
    await ensure_demo_star(vos_app, user)
    console = ScriptedConsole(vos_app)
    await console.say("/new", "1", "엄마", "어머니", "1", "1", "1", f"/file {DEMO_EXPORT}", "1")
    out = await console.say("/forget")
    assert "엄마 (어머니)의 별과 모든 관련 데이터" in out, out
    await console.say("2")  # no
    assert len(await vos_app.stars.list_owned(user.id)) == 2
