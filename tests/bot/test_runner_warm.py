"""A serving process loads kiwipiepy before it takes the first message (its load and first analysis hold
the GIL for seconds, which would stop every chat even from a worker thread)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import bot.runner
from adapters.console.adapter import ConsoleAdapter
from core.text.morphemes import MorphemeAnalyzer
from tests.support.app import make_settings


def test_a_warmed_analyzer_has_loaded_and_analysed_once() -> None:
    analyzer = MorphemeAnalyzer()
    assert analyzer._kiwi is None and not analyzer._primed
    used = analyzer.warm()
    assert analyzer._primed is used  # primed exactly when kiwipiepy is in use
    assert analyzer.tokens("우리 강아지 수술했던 날") != []


async def test_the_console_warms_the_analyzer_off_the_loop_before_the_first_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    loop_thread = threading.get_ident()

    class Spy(MorphemeAnalyzer):
        def warm(self) -> bool:
            events.append("warm" if threading.get_ident() != loop_thread else "warm on the loop")
            return super().warm()

    spy = Spy()
    monkeypatch.setattr(bot.runner, "shared_analyzer", lambda: spy)
    original = ConsoleAdapter.send_line

    async def send_line(self: ConsoleAdapter, line: str) -> None:
        events.append("message")
        await original(self, line)

    monkeypatch.setattr(ConsoleAdapter, "send_line", send_line)
    script = tmp_path / "script.txt"
    script.write_text("/help\n", encoding="utf-8")
    settings = make_settings(tmp_path)
    await bot.runner.run_console(settings, script=script, user_id="local", locale="ko", demo=False)
    assert events[:2] == ["warm", "message"], events
