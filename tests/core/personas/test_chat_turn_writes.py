"""What a chat turn stores, and when: the offline turn writes the message and the reply together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.domain.identity import User
from core.domain.stars import Star, TurnRole
from core.i18n import t
from core.storage.repositories import NewTurns
from tests.support.app import ScriptedConsole


async def _demo(app: App, user_id: str = "local") -> tuple[User, Star]:
    user = await local_user(app, user_id)
    await ensure_demo_star(app, user)
    star = await app.users.active_star(user.id)
    assert star is not None
    return user, star


async def test_offline_turn_stores_message_and_reply_in_one_write(
    vos_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, star = await _demo(vos_app)
    writes: list[list[NewTurns]] = []
    add_many = vos_app.chats.add_many

    async def counting(user_id: str, star_id: str, groups: Sequence[NewTurns], **kwargs: Any) -> list[str]:
        writes.append(list(groups))
        return await add_many(user_id, star_id, groups, **kwargs)

    monkeypatch.setattr(vos_app.chats, "add_many", counting)
    reply = await vos_app.chat.turn(user, star, "비 오는 날 뭐 했어?", user.locale)
    assert reply.engine == "offline" and reply.bubbles
    assert len(writes) == 1 and [g.role for g in writes[0]] == [TurnRole.USER, TurnRole.STAR]
    turns = await vos_app.chats.recent(user.id, star.id)
    assert [(x.role, x.text) for x in turns] == [
        (TurnRole.USER, "비 오는 날 뭐 했어?"),
        *[(TurnRole.STAR, b) for b in reply.bubbles],
    ]
    assert turns[0].created_at <= turns[1].created_at


async def test_an_unexpected_engine_error_still_keeps_the_message(
    vos_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, star = await _demo(vos_app)

    async def broken(*_: object, **__: object) -> list[str]:
        raise RuntimeError("index unreadable")

    monkeypatch.setattr(vos_app.chat.offline, "reply", broken)
    with pytest.raises(RuntimeError):
        await vos_app.chat.turn(user, star, "엄마 나 시험 붙었어", user.locale)
    assert [x.text for x in await vos_app.chats.recent(user.id, star.id)] == ["엄마 나 시험 붙었어"]


async def test_a_blocked_reply_keeps_only_the_message(vos_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    user, star = await _demo(vos_app)

    async def scam(*_: object, **__: object) -> list[str]:
        return ["엄마 계좌 국민은행 123456-01-234567 로 지금 50만원 이체해줘"]

    monkeypatch.setattr(vos_app.chat.offline, "reply", scam)
    reply = await vos_app.chat.turn(user, star, "엄마 뭐 필요한 거 있어?", user.locale)
    assert reply.verdict == "block"
    assert [(x.role, x.text) for x in await vos_app.chats.recent(user.id, star.id)] == [
        (TurnRole.USER, "엄마 뭐 필요한 거 있어?")
    ]


async def test_the_ai_notice_shows_once_per_conversation_even_after_reset(vos_app: App) -> None:
    user, star = await _demo(vos_app)
    notice = t(user.locale, "chat.ai_notice", star=star.name)
    console = ScriptedConsole(vos_app, user_id="local", locale=user.locale)
    first = await console.say("안녕 엄마")
    assert notice in first
    assert notice not in await console.say("오늘 비 왔어")
    await console.say("/reset")
    assert (await vos_app.chats.recent(user.id, star.id)) == []  # the context is empty again
    after_reset = await console.say("엄마 나 왔어")
    assert notice not in after_reset and after_reset.strip()
    # Another user's first message to their own demo star gets the notice.
    other = ScriptedConsole(vos_app, user_id="other", locale=user.locale)
    await _demo(vos_app, "other")
    assert notice in await other.say("안녕")
