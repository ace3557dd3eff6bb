"""What a new user sees in the console's first hour, in Korean and in English (found by trying it)."""

from __future__ import annotations

from pathlib import Path

from adapters.console.render import render
from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.domain.actions import SendFile, SendVoice
from core.domain.identity import Locale
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
