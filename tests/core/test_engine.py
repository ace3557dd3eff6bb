"""The engine's hot path on SQLite and PostgreSQL: how many database round trips a turn costs, and the
behaviour those reads decide (first contact, flows, /cancel, the AI notice, no or a retired star)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection

from bot.runner import ensure_demo_star
from bot.wiring import App
from core.context import Context, FlowState
from core.domain.actions import Action, SendText
from core.domain.events import ChoiceMade, CommandInvoked, Event, TextMessage
from core.domain.identity import Locale, Platform, User, UserRef
from core.domain.stars import StarStatus, TurnRole
from core.flows.base import QUESTION
from core.i18n import t
from core.safety.crisis import crisis_reply
from core.safety.limits import RateDecision, RateLimiter, rate_limited_message
from core.storage.memory import MemoryQuery

KO = Locale.KO


class Hops:
    """Counts ``Database.run`` calls (``True`` for a write) and ORM sessions opened."""

    def __init__(self) -> None:
        self.runs: list[bool] = []
        self.sessions = 0
        self.in_run = 0

    def clear(self) -> None:
        self.runs.clear()
        self.sessions = 0


@pytest.fixture
def hops(app: App, monkeypatch: pytest.MonkeyPatch) -> Hops:
    counted = Hops()
    db = app.db
    run, read, write = db.run, db.read, db.write

    async def counting_run(fn: Callable[[Connection], Any], *, write: bool = False) -> Any:
        counted.runs.append(write)
        counted.in_run += 1
        try:
            return await run(fn, write=write)
        finally:
            counted.in_run -= 1

    def session(open_session: Callable[[], Any]) -> Callable[[], Any]:
        def opened() -> Any:
            counted.sessions += 0 if counted.in_run else 1  # PostgreSQL's run opens one itself
            return open_session()

        return opened

    monkeypatch.setattr(db, "run", counting_run)
    monkeypatch.setattr(db, "read", session(read))
    monkeypatch.setattr(db, "write", session(write))
    return counted


def ref(uid: str) -> UserRef:
    return UserRef(platform=Platform.TELEGRAM, platform_user_id=uid)


async def send(app: App, event: Event) -> list[str]:
    return [a.text async for a in app.engine.handle(event) if isinstance(a, SendText)]


def text(uid: str, words: str) -> TextMessage:
    return TextMessage(user=ref(uid), chat_id=uid, text=words, display_name=uid, locale_hint=KO)


async def with_demo_star(app: App, uid: str) -> User:
    user = await app.users.get_or_create(ref(uid), display_name=uid, locale=KO)
    await ensure_demo_star(app, user)
    return user


async def test_a_text_turn_costs_two_round_trips(app: App, hops: Hops) -> None:
    user = await with_demo_star(app, "1")
    star = await app.users.active_star(user.id)
    assert star is not None
    first = await send(app, text("1", "비 오는 날 뭐 했어?"))
    assert first[0] == t(KO, "chat.ai_notice", star=star.name) and len(first) > 1
    hops.clear()
    second = await send(app, text("1", "엄마 밥 먹었어?"))
    # One read (user, flow, star, history, the memories the text recalls), one write (message and reply).
    # On PostgreSQL the memories come from a read session of their own: the vectors are ranked in a worker
    # thread between its two statements, on its one connection and transaction (a hop's code runs on the
    # event loop there).
    assert hops.runs == [False, True] and hops.sessions == (0 if app.db.is_sqlite else 1)
    assert second and t(KO, "chat.ai_notice", star=star.name) not in second
    turns = await app.chats.recent(user.id, star.id)
    assert [x.text for x in turns if x.role is TurnRole.USER] == ["비 오는 날 뭐 했어?", "엄마 밥 먹었어?"]
    assert [x.text for x in turns if x.role is TurnRole.STAR][-len(second) :] == second


async def test_history_reaches_the_reply_engine(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    await with_demo_star(app, "h")
    seen: list[tuple[int, tuple[str, ...], int | None]] = []
    reply = app.chat.offline.reply

    async def spy(star_id: str, message: MemoryQuery, **kwargs: Any) -> list[str]:
        seen.append((kwargs["turn_index"], tuple(kwargs["recent"]), kwargs.get("export_version")))
        searched = await app.memory.search(star_id, message, user_id=kwargs["user_id"], limit=6)
        assert list(kwargs["memories"]) == searched  # recalled by the turn read, the same answer
        return await reply(star_id, message, **kwargs)

    monkeypatch.setattr(app.chat.offline, "reply", spy)
    first = await send(app, text("h", "엄마 뭐해"))
    await send(app, text("h", "엄마 밥 먹었어?"))
    star_said = tuple(first[1:])  # after the AI notice
    assert seen[0][:2] == (0, ())
    assert seen[1][:2] == (1 + len(star_said), star_said)
    version = seen[0][2]
    assert version is not None and version >= 0 and seen[1][2] == version


async def test_first_contact_creates_the_user_in_one_write(app: App, hops: Hops) -> None:
    replies = await send(app, text("new", "안녕"))
    assert replies == [t(KO, "common.no_star")]
    assert hops.runs[:2] == [False, True]  # a read that finds no one, then the write that creates them
    user = await app.users.get_or_create(ref("new"), display_name="x", locale=Locale.EN)
    assert user.display_name == "new" and user.locale is KO


async def test_an_explicit_language_wins_over_the_platform_hint(app: App) -> None:
    user = await with_demo_star(app, "l")
    await app.users.set_locale(user.id, Locale.EN)
    replies = await send(app, CommandInvoked(user=ref("l"), chat_id="l", command="nope", locale_hint=KO))
    assert replies == [t(Locale.EN, "common.unknown_command", command="nope")]


class NoteFlow:
    """A one-step flow that takes the next event."""

    kind = "note"

    async def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        yield SendText(text="what should I note?")

    async def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        event = ctx.event
        yield SendText(text=f"noted: {event.text if isinstance(event, TextMessage) else event.key}")
        state.finish()


async def test_a_running_flow_takes_the_message_and_cancel_ends_it(app: App, hops: Hops) -> None:
    user = await with_demo_star(app, "f")
    app.engine.router.flows["note"] = NoteFlow()
    flows = app.engine.flow_repo
    await flows.save(user.id, "note", "start", {})
    hops.clear()
    assert await send(app, text("f", "우유 사기")) == ["noted: 우유 사기"]
    # The turn's read, then the write that ends the flow: a flow holding no blob asks nothing more.
    assert hops.runs == [False, True] and hops.sessions == 0
    assert await flows.get(user.id) is None
    star = await app.users.active_star(user.id)
    assert star is not None and await app.chats.recent(user.id, star.id) == []  # never a chat turn
    # A choice reaches the flow only under the question it was bound to, and unbound, as flows wrote it.
    await flows.save(user.id, "note", "start", {QUESTION: "q1"})
    assert await send(app, ChoiceMade(user=ref("f"), chat_id="f", key="f:q0:yes")) == [
        t(KO, "platforms.choice_expired")
    ]
    assert await send(app, ChoiceMade(user=ref("f"), chat_id="f", key="f:yes")) == [
        t(KO, "platforms.choice_expired")
    ]
    assert await send(app, ChoiceMade(user=ref("f"), chat_id="f", key="f:q1:yes")) == ["noted: f:yes"]
    await flows.save(user.id, "note", "start", {})
    cancel = CommandInvoked(user=ref("f"), chat_id="f", command="cancel", locale_hint=KO)
    assert await send(app, cancel) == [t(KO, "common.cancelled")]
    assert await flows.get(user.id) is None
    hops.clear()
    assert await send(app, cancel) == [t(KO, "common.nothing_to_cancel")]
    assert hops.runs == [False] and hops.sessions == 0  # no flow was read: nothing to end


async def test_a_command_without_a_running_flow_writes_no_flow(app: App, hops: Hops) -> None:
    await with_demo_star(app, "n")
    hops.clear()
    unknown = CommandInvoked(user=ref("n"), chat_id="n", command="nope", locale_hint=KO)
    assert await send(app, unknown) == [t(KO, "common.unknown_command", command="nope")]
    help_ = CommandInvoked(user=ref("n"), chat_id="n", command="help", locale_hint=KO)
    (listed,) = await send(app, help_)
    assert listed.startswith(t(KO, "help.text")) and f"/voicereply {t(KO, 'help.cmd.voicereply')}" in listed
    assert hops.runs == [False, False] and hops.sessions == 0


async def test_no_active_star_and_a_retired_one(app: App) -> None:
    user = await with_demo_star(app, "r")
    star = await app.users.active_star(user.id)
    assert star is not None
    await app.users.set_active_star(user.id, None)
    assert await send(app, text("r", "엄마")) == [t(KO, "common.choose_star_first")]
    await app.users.set_active_star(user.id, star.id)
    assert await app.stars.set_status(star.id, user.id, StarStatus.RETIRED)
    assert await send(app, text("r", "엄마")) == [t(KO, "stars.retired_readonly", name=star.name)]
    assert await app.chats.recent(user.id, star.id) == []


async def test_a_crisis_message_gets_the_hand_off_not_the_star(app: App) -> None:
    await with_demo_star(app, "c")
    replies = await send(app, text("c", "죽고 싶어"))
    assert replies[-1] == crisis_reply(KO, app.chat.crisis_resources)


async def test_a_rate_limited_message_costs_one_read_and_no_memory_search(
    app: App, hops: Hops, monkeypatch: pytest.MonkeyPatch
) -> None:
    await with_demo_star(app, "q")
    app.engine.limiter = RateLimiter(rate_per_min=1, burst=1, clock=lambda: 0.0)
    searched: list[str] = []
    search_on = app.memory.search_on

    def spy(conn: Connection, star_id: str, message: MemoryQuery, **kwargs: Any) -> Any:
        searched.append(message.text)
        return search_on(conn, star_id, message, **kwargs)

    async def spy_search(star_id: str, message: MemoryQuery, **kwargs: Any) -> Any:
        searched.append(message.text)
        return await search(star_id, message, **kwargs)

    monkeypatch.setattr(app.memory, "search_on", spy)
    if not app.db.is_sqlite:  # PostgreSQL: the turn's read leaves the search to memory.search (off the loop)
        search = app.memory.search
        monkeypatch.setattr(app.memory, "search", spy_search)
    assert len(await send(app, text("q", "비 오는 날 뭐 했어?"))) > 1
    assert searched == ["비 오는 날 뭐 했어?"]
    hops.clear()
    refused = await send(app, text("q", "엄마 밥 먹었어?"))
    assert refused == [rate_limited_message(KO, RateDecision(allowed=False, retry_after_s=60.0))]
    # The limiter protects the database too: a refused message reads the user (for the language) only.
    assert searched == ["비 오는 날 뭐 했어?"] and hops.runs == [False] and hops.sessions == 0


async def test_a_burst_gets_one_too_fast_reply_and_another_after_the_wait(app: App) -> None:
    await with_demo_star(app, "b")
    now = [0.0]
    app.engine.limiter = RateLimiter(rate_per_min=6, burst=2, clock=lambda: now[0])
    app.engine._too_fast._clock = lambda: now[0]
    head = t(KO, "safety.limits.too_many_messages", seconds=999).split("999")[0]

    def refusal(replies: list[str]) -> bool:
        return len(replies) == 1 and replies[0].startswith(head)

    replies = [await send(app, text("b", f"메시지 {i}")) for i in range(40)]
    assert all(r and not refusal(r) for r in replies[:2])
    assert refusal(replies[2])  # one answer for the whole burst of 38 refused messages
    assert replies[3:] == [[]] * 37
    now[0] += 10.0  # the wait is over: one more message goes through, the next is refused and told again
    assert not refusal(await send(app, text("b", "다시")))
    assert refusal(await send(app, text("b", "또")))
    assert await send(app, text("b", "또또")) == []


async def test_a_crisis_message_gets_the_hand_off_even_when_the_memory_search_fails(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await with_demo_star(app, "x")

    def broken(conn: Connection, *_: object, **__: object) -> Any:
        return conn.execute(sql_text("SELECT seq FROM no_such_table")).all()  # fails (and aborts, on PG)

    # The turn's read recalls memories before the safety check has seen the text: its failure must not
    # cost a person in crisis the help lines (the old path answered them before any search).
    monkeypatch.setattr(app.memory, "search_on", broken)
    replies = await send(app, text("x", "죽고 싶어"))
    assert replies[-1] == crisis_reply(KO, app.chat.crisis_resources)
    ordinary = await send(app, text("x", "엄마 밥 먹었어?"))  # the chat searches again, after the check
    apology = t(KO, "common.error", ref="REF").split("REF")[0]
    assert ordinary and not any(r.startswith(apology) for r in ordinary)


async def test_who_speaks_is_the_reply_origin_not_the_engine_name() -> None:
    """A model that happens to be called "safety" still speaks as the star; the guard never does."""
    from core.personas.chat import ChatReply, ReplyOrigin, guard_reply, reply_actions

    star = [a async for a in reply_actions(ChatReply(bubbles=("밥 먹었어?",), engine="safety"))]
    guard = [a async for a in reply_actions(guard_reply("AI로서 말할게요", "crisis"))]
    assert [(a.text, a.from_star) for a in star if isinstance(a, SendText)] == [("밥 먹었어?", True)]
    assert [(a.text, a.from_star) for a in guard if isinstance(a, SendText)] == [("AI로서 말할게요", False)]
    assert guard_reply("x").origin is ReplyOrigin.SAFETY
