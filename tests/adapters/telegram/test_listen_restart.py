"""The 🔊 button carries ``listen:<turn_id>`` and nothing else: the engine reads the words from storage.

So a button pressed after a restart, or handled by another shard process (a fresh adapter and app over the
same database), still speaks the star's words; a forged or foreign turn id speaks nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.wiring import running_app
from core.i18n import t
from tests.adapters.telegram.botapi_server import BotApiServer
from tests.adapters.telegram.conftest import RunningAdapter
from tests.adapters.telegram.test_engine_e2e import ALICE, BOB, KO, TelegramUser, TracingEngine, create_star
from tests.support.app import make_settings

StartAdapter = Callable[..., Awaitable[RunningAdapter]]


async def test_listen_button_survives_a_restart_and_works_in_another_process(
    server: BotApiServer, start_adapter: StartAdapter, tmp_path: Path
) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    settings = make_settings(tmp_path, limits={"messages_per_minute": 600})

    # The first process: create a star, chat, note the 🔊 buttons' data; then it stops.
    async with running_app(settings, use_settings_model=False) as app:
        engine = TracingEngine(app.engine)
        first = await start_adapter(engine=engine)
        alice = TelegramUser(server, engine, ALICE)
        await create_star(alice)
        bubbles = (await alice.say("김치찌개 생각난다"))[1:]  # after the AI notice
        data = [b.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] for b in bubbles]
        await first.stop()
    assert data
    assert all(d.startswith("listen:") and len(d.encode()) <= 64 for d in data)
    assert not any(b.params["text"] in d for b, d in zip(bubbles, data, strict=True))

    # A fresh process over the same database: no adapter state survived, the button still works.
    async with running_app(settings, use_settings_model=False) as app:
        engine = TracingEngine(app.engine)
        second = await start_adapter(engine=engine)
        alice = TelegramUser(server, engine, ALICE)
        bob = TelegramUser(server, engine, BOB)
        voices = len(server.calls("sendVoice", chat_id=ALICE))
        replies = await alice.press_data(data[-1])
        assert not any(r.params["text"] == t(KO, "telegram.button_expired") for r in replies)
        assert len(server.calls("sendVoice", chat_id=ALICE)) == voices + 1
        assert "기본 음성" in str(server.calls("sendVoice", chat_id=ALICE)[-1].params.get("caption", ""))

        # Alice's button pressed by Bob, and turn ids that are no star's words to him, speak nothing.
        for forged in (data[-1], "listen:1", "listen:99999999", "listen:x' OR 1=1"):
            assert [r.params["text"] for r in await bob.press_data(forged)] == [t(KO, "voice.listen.nothing")]
        assert server.calls("sendVoice", chat_id=BOB) == []
        await second.stop()
