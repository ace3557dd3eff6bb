"""End to end through Telegram with the REAL engine: the adapter against the local Bot API server, the app
from ``bot.wiring.running_app`` (offline engine, SQLite in ``tmp_path``), the demo KakaoTalk export.

Each step injects one update and waits until the engine has finished with it, so what the server recorded
in between is exactly that step's reply.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, aclosing
from pathlib import Path
from typing import Any

import pytest

from bot.demo import DEMO_EXPORT
from bot.wiring import App, running_app
from core.domain.actions import Action
from core.domain.events import Event
from core.domain.identity import Locale, Platform, UserRef
from core.i18n import t
from core.personas.style import describe
from core.text.mood import without_laughter
from tests.adapters.telegram.botapi_server import (
    BotApiServer,
    RecordedRequest,
    callback_update,
    document_update,
    text_update,
    voice_update,
)
from tests.adapters.telegram.conftest import RunningAdapter
from tests.support.app import make_settings

ALICE, BOB = 2001, 2002
KO = Locale.KO

# The demo export's lines by the mother: ``[엄마] [오후 6:02] 밥은 먹었어?`` → ``밥은 먹었어?``.
_LINE = re.compile(r"^\[(?P<author>[^\]]+)\] \[[^\]]+\] (?P<text>.+)$")
EXPORT_TEXT = DEMO_EXPORT.read_text(encoding="utf-8")
MOM_LINES = {
    m["text"] for line in EXPORT_TEXT.splitlines() if (m := _LINE.match(line)) and m["author"] == "엄마"
}
DAUGHTER_ONLY = {
    m["text"] for line in EXPORT_TEXT.splitlines() if (m := _LINE.match(line)) and m["author"] == "민지"
} - MOM_LINES


_APOLOGIES = [
    re.compile(re.escape(t(locale, key, ref="REF")).replace("REF", "[0-9a-f]{8}"))
    for locale in Locale
    for key in ("common.error", "telegram.apology")
]


class TracingEngine:
    """The real engine, passed through; counts finished events so a test knows when a reply is complete."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.events: list[Event] = []
        self.finished = 0
        self._changed = asyncio.Condition()

    async def handle(self, event: Event) -> AsyncIterator[Action]:
        self.events.append(event)
        try:
            async with aclosing(self.inner.handle(event)) as actions:
                async for action in actions:
                    yield action
        finally:
            async with self._changed:
                self.finished += 1
                self._changed.notify_all()

    async def wait_finished(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.finished >= count)


class TelegramUser:
    """One person in a private chat with the bot."""

    def __init__(
        self, server: BotApiServer, engine: TracingEngine, user_id: int, language_code: str = "ko"
    ) -> None:
        self.server = server
        self.engine = engine
        self.id = user_id
        self.language_code = language_code

    def sent(self) -> list[RecordedRequest]:
        """Every sendMessage to this chat so far."""
        return self.server.calls("sendMessage", chat_id=self.id)

    async def _step(self, update: dict[str, Any]) -> list[RecordedRequest]:
        """Inject ``update`` (one that reaches the engine) and return the messages it produced."""
        before = len(self.sent())
        target = self.engine.finished + 1
        await self.server.inject(update)
        await self.engine.wait_finished(target)
        return self.sent()[before:]

    async def say(self, text: str) -> list[RecordedRequest]:
        return await self._step(text_update(self.id, text, language_code=self.language_code))

    async def press_data(self, data: str, message_id: int | None = None) -> list[RecordedRequest]:
        update = callback_update(self.id, data, language_code=self.language_code, message_id=message_id)
        return await self._step(update)

    def find_button(self, label: str | Callable[[str], bool]) -> tuple[str, int | None]:
        """The callback_data of the newest button with that label (or matching that predicate), and the
        id of the message it is under."""
        matches = label if callable(label) else (lambda text: text == label)
        for request in reversed(self.sent()):
            for row in (request.params.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if matches(button["text"]):
                        return str(button["callback_data"]), request.message_id
        raise AssertionError(f"no button {label!r} in {[r.params for r in self.sent()]}")

    def button(self, label: str | Callable[[str], bool]) -> str:
        """The callback_data of the newest button with that label (or matching that predicate)."""
        return self.find_button(label)[0]

    async def press(self, label: str | Callable[[str], bool]) -> list[RecordedRequest]:
        return await self.press_data(*self.find_button(label))

    async def send_document(self, content: bytes, file_name: str) -> list[RecordedRequest]:
        file_id = self.server.add_file(content, file_path=f"documents/{file_name}")
        update = document_update(
            self.id, file_id, file_name=file_name, file_size=len(content), language_code=self.language_code
        )
        return await self._step(update)

    async def send_voice(self, content: bytes, duration: int = 2) -> list[RecordedRequest]:
        """Send a voice note (OGG/Opus bytes) recorded in the Telegram app."""
        file_id = self.server.add_file(content, file_path=f"voice/file_{len(self.server.requests)}.oga")
        update = voice_update(
            self.id, file_id, file_size=len(content), duration=duration, language_code=self.language_code
        )
        return await self._step(update)


def texts(requests: list[RecordedRequest]) -> list[str]:
    return [r.params["text"] for r in requests]


StartVos = Callable[..., Awaitable[tuple[App, TelegramUser, TelegramUser]]]


@pytest.fixture
async def start_vos(
    server: BotApiServer, start_adapter: Callable[..., Awaitable[RunningAdapter]], tmp_path: Path
) -> AsyncIterator[StartVos]:
    """``await start_vos(**settings)`` → the app, Alice (ko) and Bob (ko) talking to it over Telegram."""
    handles: list[RunningAdapter] = []
    async with AsyncExitStack() as stack:

        async def _start(*, stt: Any = None, **settings: object) -> tuple[App, TelegramUser, TelegramUser]:
            app = await stack.enter_async_context(
                running_app(make_settings(tmp_path, **settings), use_settings_model=False, stt=stt)
            )
            engine = TracingEngine(app.engine)
            handles.append(await start_adapter(engine=engine))
            return app, TelegramUser(server, engine, ALICE), TelegramUser(server, engine, BOB)

        yield _start
        # No step of any test ended in the engine's or the adapter's apology.
        for request in server.calls("sendMessage"):
            assert not any(p.search(request.params["text"]) for p in _APOLOGIES), request.params["text"]
        # The adapter must stop (finishing replies in flight) before the app's database is disposed of.
        for handle in handles:
            await handle.stop()


async def create_star(user: TelegramUser) -> list[RecordedRequest]:
    """/new … up to the chosen participant; returns the messages of the last step."""
    await user.say("/new")
    await user.press(t(KO, "common.yes"))
    await user.say("엄마")
    await user.say("어머니")
    await user.press(t(KO, "common.skip"))  # notes
    await user.press(t(KO, "common.skip"))  # dates
    await user.press(t(KO, "common.skip"))  # photo
    await user.send_document(DEMO_EXPORT.read_bytes(), "KakaoTalk_Chat_엄마.txt")
    return await user.press(lambda label: label.startswith("엄마 ("))


# --- 1. /start ------------------------------------------------------------------------------------


async def test_start_welcomes_in_the_users_language(start_vos: StartVos) -> None:
    _, alice, bob = await start_vos()
    bob.language_code = "en"
    (korean,) = texts(await alice.say("/start"))
    (english,) = texts(await bob.say("/start"))
    assert korean == t(Locale.KO, "start.welcome", name="민수")
    assert english == t(Locale.EN, "start.welcome", name="민수")
    assert "VOS" in english
    assert "AI" in english
    assert korean != english


# --- 2, 3, 6. Create a star, chat with it, forget it -----------------------------------------------


async def test_create_star_chat_and_forget_over_telegram(start_vos: StartVos, server: BotApiServer) -> None:
    # A long session: more than the default burst of 10 messages in a few seconds.
    app, alice, _ = await start_vos(limits={"messages_per_minute": 600})

    (consent,) = await alice.say("/new")
    assert consent.params["text"].endswith(t(KO, "create.consent"))
    labels = [row[0]["text"] for row in consent.params["reply_markup"]["inline_keyboard"]]
    assert labels == [t(KO, "common.yes"), t(KO, "common.no")]

    assert texts(await alice.press(t(KO, "common.yes"))) == [t(KO, "create.ask_name")]
    assert texts(await alice.say("엄마")) == [t(KO, "create.ask_relation")]
    assert texts(await alice.say("어머니")) == [t(KO, "create.ask_notes")]
    assert texts(await alice.press(t(KO, "common.skip"))) == [t(KO, "create.ask_dates")]
    assert texts(await alice.press(t(KO, "common.skip"))) == [t(KO, "kakaoimport.ask_photo", name="엄마")]
    assert texts(await alice.press(t(KO, "common.skip"))) == [t(KO, "create.ask_export")]

    (participants,) = await alice.send_document(EXPORT_TEXT.encode(), "KakaoTalk_Chat_엄마.txt")
    assert participants.params["text"] == t(KO, "create.choose_participant", name="엄마")
    options = [row[0]["text"] for row in participants.params["reply_markup"]["inline_keyboard"]]
    assert len(options) == 2
    assert options[0].startswith("엄마 (")
    assert options[1].startswith("민지 (")
    assert server.downloads == ["documents/KakaoTalk_Chat_엄마.txt"]

    done = await alice.press(lambda label: label.startswith("엄마 ("))
    (star,) = await app.stars.list_owned(await _user_id(app, ALICE))
    profile = await app.star_service.profile(star.id)
    assert profile is not None
    message_count = sum(1 for line in EXPORT_TEXT.splitlines() if _LINE.match(line))  # both sides
    assert texts(done)[1:3] == [
        t(KO, "create.done", name="엄마", count=message_count),
        describe(profile, KO),
    ]  # the AI notice comes once, above her first reply (below)
    assert texts(done)[3:] == [t(KO, "names.ask_address_found", name="엄마")]
    assert "별을 만들었어요" in texts(done)[1]
    # The import progress message was shown, then removed.
    assert texts(done)[0] == t(KO, "create.importing")
    (deleted,) = server.calls("deleteMessage", chat_id=ALICE)
    assert deleted.status == 200
    assert star.participant_name == "엄마"
    assert star.relation == "어머니"

    # 3. Chat: the disclosure first, then the star's bubbles, each its own message with a 🔊 button.
    reply = await alice.say("김치찌개 생각난다")
    assert reply[0].params["text"] == t(KO, "chat.ai_notice", star="엄마")
    assert "reply_markup" not in reply[0].params
    bubbles = reply[1:]
    assert bubbles, texts(reply)
    for bubble in bubbles:
        assert bubble.params["text"] in MOM_LINES, bubble.params["text"]  # only the star's own words
        (listen,) = bubble.params["reply_markup"]["inline_keyboard"][0]
        assert listen["text"] == t(KO, "telegram.listen_button")
    assert any("김치찌개" in b.params["text"] for b in bubbles)
    # Between two bubbles the user sees "typing…": a sendChatAction right before each later bubble.
    order = server.calls("sendMessage", "sendChatAction", chat_id=ALICE)
    positions = [next(i for i, r in enumerate(order) if r is b) for b in bubbles]
    assert all(order[i - 1].method == "sendChatAction" for i in positions[1:])
    assert all(r.status == 200 for r in server.calls())

    # The second message carries no second disclosure.
    again = texts(await alice.say("엄마 보고 싶어"))
    assert again
    assert t(KO, "chat.ai_notice", star="엄마") not in again
    # Her own words; after a sad message without their laughter ("메리 크리스마스~~ ㅎㅎ" -> "메리 크리스마스~~").
    assert all(text in MOM_LINES | {without_laughter(line) for line in MOM_LINES} for text in again), again

    # /stars lists the star with the last message as preview.
    (listing,) = await alice.say("/stars")
    assert listing.params["text"] == t(KO, "stars.header")
    (entry,) = listing.params["reply_markup"]["inline_keyboard"]
    assert entry[0]["text"].startswith("엄마 (어머니) — ")
    assert entry[0]["callback_data"] == f"star:{star.id}"

    # 6. /forget asks first; "no" keeps the star, "yes" deletes it.
    (ask,) = await alice.say("/forget")
    assert ask.params["text"] == t(KO, "rights.forget_confirm", name="엄마")
    assert texts(await alice.press(t(KO, "common.no"))) == [t(KO, "rights.aborted")]
    assert await app.stars.list_owned(star.owner_id)
    await alice.say("/forget")
    assert texts(await alice.press(t(KO, "common.yes"))) == [t(KO, "rights.forget_done", name="엄마")]
    assert await app.stars.list_owned(star.owner_id) == []
    assert texts(await alice.say("/stars")) == [t(KO, "common.no_star")]
    assert texts(await alice.say("김치찌개")) == [t(KO, "common.no_star")]


async def _user_id(app: App, telegram_id: int) -> str:
    user = await app.users.get_or_create(
        UserRef(platform=Platform.TELEGRAM, platform_user_id=str(telegram_id)), display_name="", locale=KO
    )
    return user.id


# --- 4. Two users ---------------------------------------------------------------------------------


async def test_two_users_cannot_see_each_others_stars(start_vos: StartVos, server: BotApiServer) -> None:
    app, alice, bob = await start_vos()
    await create_star(alice)
    alice_id = await _user_id(app, ALICE)
    (star,) = await app.stars.list_owned(alice_id)
    alice_bubbles = await alice.say("비 온다")
    listen_token = alice_bubbles[-1].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

    assert texts(await bob.say("/stars")) == [t(KO, "common.no_star")]
    # Bob forges the callback data of Alice's /stars button.
    assert texts(await bob.press_data(f"star:{star.id}")) == [t(KO, "stars.not_found")]
    bob_id = await _user_id(app, BOB)
    assert await app.users.active_star_id(bob_id) is None
    # Bob's text goes nowhere near Alice's star.
    reply = await bob.say("김치찌개 생각난다")
    assert texts(reply) == [t(KO, "common.no_star")]
    assert all("reply_markup" not in r.params for r in reply)
    # Commands on "the active star" find none for Bob.
    for command in ("/profile", "/export", "/forget"):
        assert texts(await bob.say(command)) == [t(KO, "common.choose_star_first")]
    # Callback data that means nothing is ignored quietly; Alice's 🔊 data (her star's turn) speaks nothing.
    assert await bob.press_data("zzz:whatever") == []
    assert await bob.press_data("~notatoken") == []
    assert texts(await bob.press_data(listen_token)) == [t(KO, "voice.listen.nothing")]
    answered = await server.wait_calls("answerCallbackQuery", 9)  # 5 of Alice's, 4 of Bob's
    assert len(answered) == 9
    assert all(r.status == 200 for r in answered)
    assert not any("참조" in text or "Reference" in text for text in texts(bob.sent()))

    # Nothing of Bob's reached Alice's star or her chat.
    assert await app.stars.list_owned(bob_id) == []
    assert await app.stars.get_owned(star.id, bob_id) is None
    assert await app.users.active_star_id(alice_id) == star.id
    assert not (await app.chats.has_turns(bob_id, star.id))
    assert all(text not in MOM_LINES for text in texts(bob.sent()))


# --- 5. Error paths -------------------------------------------------------------------------------


async def _at_export_step(user: TelegramUser) -> None:
    await user.say("/new")
    await user.press(t(KO, "common.yes"))
    await user.say("엄마")
    await user.say("어머니")
    await user.press(t(KO, "common.skip"))  # notes
    await user.press(t(KO, "common.skip"))  # dates
    assert texts(await user.press(t(KO, "common.skip"))) == [t(KO, "create.ask_export")]  # photo


async def test_export_over_the_limit_is_refused_and_the_flow_goes_on(start_vos: StartVos) -> None:
    app, alice, _ = await start_vos(limits={"max_export_mb": 1})
    await _at_export_step(alice)
    big = (EXPORT_TEXT * 400).encode()  # about 1.5 MB of a real export
    assert 1_000_000 < len(big) < 20 * 1024 * 1024  # over VOS's limit, under Telegram's
    (refusal,) = await alice.send_document(big, "KakaoTalk_Chat_big.txt")
    assert refusal.params["text"] == t(KO, "create.too_large", size_mb=f"{len(big) / 1e6:.1f}", limit_mb="1")
    # Still waiting for an export: the right file finishes the job.
    (participants,) = await alice.send_document(EXPORT_TEXT.encode(), "KakaoTalk_Chat_엄마.txt")
    assert participants.params["text"] == t(KO, "create.choose_participant", name="엄마")
    done = await alice.press(lambda label: label.startswith("엄마 ("))
    assert any("별을 만들었어요" in text for text in texts(done))
    assert len(await app.stars.list_owned(await _user_id(app, ALICE))) == 1


async def test_unreadable_exports_name_the_reason(start_vos: StartVos) -> None:
    app, alice, _ = await start_vos()
    await _at_export_step(alice)
    garbage = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    (binary,) = await alice.send_document(garbage, "KakaoTalk_Chat.txt")
    reason = t(KO, "kakao.error.binary", line=3)  # the PNG signature's two newlines come before the NUL
    assert binary.params["text"] == t(KO, "create.parse_failed", reason=reason)

    (plain,) = await alice.send_document("장보기 목록\n두부\n대파\n".encode(), "memo.txt")
    prefix = t(KO, "create.parse_failed", reason="")
    assert plain.params["text"].startswith(prefix)
    assert len(plain.params["text"]) > len(prefix) + 5  # a reason follows
    assert plain.params["text"] != binary.params["text"]
    assert await app.stars.list_owned(await _user_id(app, ALICE)) == []


async def test_unknown_command_and_stray_file(start_vos: StartVos) -> None:
    _, alice, bob = await start_vos()
    assert texts(await alice.say("/frobnicate now")) == [
        t(KO, "common.unknown_command", command="frobnicate")
    ]
    bob.language_code = "en"
    assert texts(await bob.say("/frobnicate")) == [
        t(Locale.EN, "common.unknown_command", command="frobnicate")
    ]
    # A file outside the create flow is not silently swallowed.
    (reply,) = await alice.send_document(EXPORT_TEXT.encode(), "KakaoTalk_Chat_엄마.txt")
    assert reply.params["text"] == t(KO, "common.file_unexpected")


# --- Known gaps, kept visible: these flip to failures (strict) once the engine grows the features -------


async def test_listen_button_under_a_real_star_message_sends_a_voice_note(start_vos: StartVos) -> None:
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    _, alice, _ = await start_vos(limits={"messages_per_minute": 600})
    await create_star(alice)
    await alice.say("김치찌개 생각난다")
    await alice.press(t(KO, "telegram.listen_button"))
    await alice.server.wait_for(lambda srv: bool(srv.calls("sendVoice", chat_id=ALICE)), timeout=20)
    voice = alice.server.calls("sendVoice", chat_id=ALICE)[-1]
    assert "기본 음성" in str(voice.params.get("caption", ""))


async def test_every_menu_command_is_known_to_the_engine(start_vos: StartVos) -> None:
    app, alice, _ = await start_vos(limits={"messages_per_minute": 600})
    unknown = []
    for item in app.engine.router.menu():
        name = item.name
        reply = texts(await alice.say(f"/{name}"))
        if t(KO, "common.unknown_command", command=name) in reply:
            unknown.append(name)
    assert unknown == []
