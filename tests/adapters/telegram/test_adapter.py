"""The adapter through the real PTB Application against the local Bot API server."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from core.domain.actions import AskChoice, Choice, SendText, TypingPause
from core.domain.events import ChoiceMade, CommandInvoked, Event, TextMessage
from core.domain.identity import Locale, Platform, UserRef
from core.i18n import t
from tests.adapters.telegram.botapi_server import (
    TOKEN,
    BotApiServer,
    callback_update,
    text_update,
)
from tests.adapters.telegram.conftest import ScriptedEngine
from tests.support.app import declared_router

ALICE, BOB = 1001, 1002


def keyboard(request_params: dict) -> list[list[dict]]:
    return request_params["reply_markup"]["inline_keyboard"]


async def test_commands_registered_in_korean_and_english(server: BotApiServer, start_adapter) -> None:
    await start_adapter()
    calls = server.calls("setMyCommands")
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    assert {"ko", "en"} <= set(by_language)
    for code in ("ko", "en"):
        names = [c["command"] for c in by_language[code]]
        assert names == [item.name for item in declared_router().menu()]
        descriptions = {c["command"]: c["description"] for c in by_language[code]}
        assert descriptions["new"] == t(Locale(code), "telegram.commands.new")
    assert by_language["ko"][0]["description"] != by_language["en"][0]["description"]
    assert all(call.status == 200 for call in calls)


async def test_text_becomes_bubbles_with_chat_actions_between(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    engine.script = lambda event: [
        SendText(text="왔구나"),
        TypingPause(seconds=0.05),
        SendText(text="밥은 먹었어?"),
        TypingPause(seconds=0.05, recording=True),
        SendText(text="보고 싶었어"),
    ]
    await start_adapter()
    await server.inject(text_update(ALICE, "엄마 나 왔어"))
    await server.wait_calls("sendMessage", 3, chat_id=ALICE)

    (event,) = engine.events
    assert isinstance(event, TextMessage)
    assert event.text == "엄마 나 왔어"
    assert event.user == UserRef(platform=Platform.TELEGRAM, platform_user_id=str(ALICE))
    assert event.chat_id == str(ALICE)
    assert event.locale_hint is Locale.KO

    sequence = [
        (r.method, r.params.get("text") or r.params.get("action"))
        for r in server.calls("sendMessage", "sendChatAction", chat_id=ALICE)
    ]
    assert sequence == [
        ("sendMessage", "왔구나"),
        ("sendChatAction", "typing"),
        ("sendMessage", "밥은 먹었어?"),
        ("sendChatAction", "record_voice"),
        ("sendMessage", "보고 싶었어"),
    ]


async def test_commands_become_command_events(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    await start_adapter()
    await server.inject(text_update(ALICE, "/start@vos_test_bot hello there", language_code="en-US"))
    await server.inject(text_update(ALICE, "/forget_me"))
    await server.inject(text_update(ALICE, "/start@other_bot"))
    await server.inject(text_update(ALICE, "plain"))
    events = await engine.wait_events(3)
    await asyncio.sleep(0.1)
    assert len(engine.events) == 3  # the command for another bot is not ours
    first, second, third = events
    assert isinstance(first, CommandInvoked)
    assert (first.command, first.args, first.locale_hint) == ("start", "hello there", Locale.EN)
    assert isinstance(second, CommandInvoked)
    assert (second.command, second.args) == ("forget_me", "")
    assert isinstance(third, TextMessage)


async def test_choice_keys_travel_as_they_are(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    longest = "participant:" + "고" * 17  # 63 bytes in UTF-8: core keeps keys within 64
    engine.script = lambda event: (
        [
            AskChoice(
                prompt="누가 별인가요?",
                options=(Choice(key="participant:a", label="A"), Choice(key=longest, label="고민수")),
            )
        ]
        if isinstance(event, CommandInvoked)
        else []
    )
    await start_adapter()
    await server.inject(text_update(ALICE, "/new"))
    (sent,) = await server.wait_calls("sendMessage", chat_id=ALICE)
    data = [row[0]["callback_data"] for row in keyboard(sent.params)]
    assert data == ["participant:a", longest]

    await server.inject(callback_update(ALICE, data[1]))
    await server.inject(callback_update(ALICE, data[0]))
    events = await engine.wait_events(3)
    assert [e.key for e in events[1:] if isinstance(e, ChoiceMade)] == [longest, "participant:a"]
    await server.wait_calls("answerCallbackQuery", 2)


async def test_listen_button_under_star_messages(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    star_text = "오늘은 날씨가 좋네. 산책 다녀왔니?"
    engine.script = lambda event: (
        [SendText(text=star_text, from_star=True, turn_id="42"), SendText(text="unstored", from_star=True)]
        if isinstance(event, TextMessage)
        else []
    )
    await start_adapter()
    await server.inject(text_update(ALICE, "안녕", language_code="en"))
    sent, unstored = await server.wait_calls("sendMessage", 2, chat_id=ALICE)
    (button,) = keyboard(sent.params)[0]
    assert button["text"] == t(Locale.EN, "telegram.listen_button")
    assert button["callback_data"] == "listen:42"  # the turn id only, never the words
    assert "reply_markup" not in unstored.params  # no stored turn: nothing a button could speak

    await server.inject(callback_update(ALICE, button["callback_data"]))
    events = await engine.wait_events(2)
    assert isinstance(events[1], ChoiceMade)
    assert events[1].key == "listen:42"


async def test_long_text_is_split_at_paragraphs(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    paragraphs = [f"{i}번째 문단입니다. " + "가나다라마바사 " * 250 for i in range(6)]
    text = "\n\n".join(paragraphs)
    assert len(text) > 4096 * 2
    engine.script = lambda event: [SendText(text=text)]
    await start_adapter()
    await server.inject(text_update(ALICE, "길게"))
    await server.wait_for(lambda s: not s.state.updates and len(s.calls("sendMessage")) >= 3)
    await asyncio.sleep(0.2)
    sent = [r.params["text"] for r in server.calls("sendMessage", chat_id=ALICE)]
    assert all(len(chunk) <= 4096 for chunk in sent)
    assert all(r.status == 200 for r in server.calls("sendMessage"))
    assert " ".join(sent).split() == text.split()
    assert all(chunk.startswith(tuple(f"{i}번째" for i in range(6))) for chunk in sent)


async def test_group_chats_get_pointed_to_private_chat(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    await start_adapter()
    group = -5001
    await server.inject(text_update(ALICE, "hello everyone", chat_id=group))
    await server.inject(text_update(ALICE, "/start", chat_id=group, language_code="en"))
    (reply,) = await server.wait_calls("sendMessage", chat_id=group)
    assert reply.params["text"] == t(Locale.EN, "telegram.private_only")
    await asyncio.sleep(0.1)
    assert engine.events == []


async def test_handler_error_apologises_with_reference_and_keeps_serving(
    server: BotApiServer, engine: ScriptedEngine, start_adapter, caplog: pytest.LogCaptureFixture
) -> None:
    def script(event: Event) -> list[SendText]:
        if isinstance(event, TextMessage) and event.text == "boom":
            raise RuntimeError("engine exploded")
        return [SendText(text="still here")]

    engine.script = script
    caplog.set_level(logging.DEBUG)
    await start_adapter()
    await server.inject(text_update(ALICE, "boom", language_code="en"))
    (apology,) = await server.wait_calls("sendMessage", chat_id=ALICE)
    match = re.search(r"Reference: ([0-9a-f]{8})", apology.params["text"])
    assert match, apology.params["text"]
    ref = match.group(1)
    failure_logs = [r for r in caplog.records if ref in r.getMessage()]
    assert failure_logs
    assert any("engine exploded" in (caplog.text or "") for _ in failure_logs)

    await server.inject(text_update(ALICE, "hello again"))
    sent = await server.wait_calls("sendMessage", 2, chat_id=ALICE)
    assert sent[1].params["text"] == "still here"


async def test_token_never_reaches_the_logs(
    server: BotApiServer,
    engine: ScriptedEngine,
    start_adapter,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)

    def script(event: Event) -> list[SendText]:
        if isinstance(event, TextMessage) and event.text == "fail":
            raise RuntimeError(f"a failure mentioning {TOKEN}")
        return [SendText(text="ok")]

    engine.script = script
    handle = await start_adapter()
    await server.inject(text_update(ALICE, "hi"))
    await server.inject(text_update(ALICE, "fail"))
    await server.wait_calls("sendMessage", 2, chat_id=ALICE)
    server.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
    await server.inject(text_update(BOB, "hi"))
    await server.wait_calls("sendMessage", 2, chat_id=BOB)  # the failed send, then the apology
    await handle.stop()
    secret = TOKEN.partition(":")[2]
    assert caplog.records, "expected some logging"
    assert secret not in caplog.text
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_graceful_shutdown_finishes_replies_in_flight(
    server: BotApiServer, engine: ScriptedEngine, start_adapter
) -> None:
    started = asyncio.Event()

    async def slow(event: Event):
        started.set()
        await asyncio.sleep(0.5)
        yield SendText(text="다 끝냈어")

    engine.script = slow
    handle = await start_adapter()
    await server.inject(text_update(ALICE, "천천히"))
    await asyncio.wait_for(started.wait(), 5)
    await handle.stop()
    assert [r.params["text"] for r in server.calls("sendMessage", chat_id=ALICE)] == ["다 끝냈어"]
    assert handle.task is not None
    assert handle.task.done()
