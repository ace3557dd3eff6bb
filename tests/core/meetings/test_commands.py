"""/meeting, /meetings and /ask through the engine and the scripted console."""

from __future__ import annotations

from pathlib import Path

from bot.wiring import App
from core.domain.identity import Locale
from core.i18n import t
from tests.core.meetings.fakes import MEETING_SEGMENTS, MEETING_TURNS, FakeDiarizer, FakeSTT, write_wav
from tests.support.app import ScriptedConsole


def _fake_engines(app: App) -> None:
    app.meetings.stt_factory = lambda: FakeSTT(MEETING_SEGMENTS)
    app.meetings.diarizer_factory = lambda: FakeDiarizer(MEETING_TURNS)


async def test_meeting_upload_flow_shows_progress_summary_export_and_chart(
    vos_app: App, tmp_path: Path
) -> None:
    _fake_engines(vos_app)
    console = ScriptedConsole(vos_app, locale=Locale.EN)
    asked = await console.say("/meeting")
    assert "Send the meeting recording" in asked
    assert "Please send the recording as a file" in await console.say("hello?")
    out = await console.say(f"/file {write_wav(tmp_path / 'weekly.wav', 25)}")
    assert "Transcribing" in out
    assert "“weekly” is ready: 0.4 min, 2 speaker(s)." in out
    assert "■ Decisions" in out
    assert "[00:04] We decided to launch the mobile app on Friday." in out
    assert "I will send the budget report by Monday. (owner: Speaker 2; due: 20" in out
    assert "(by Monday))" in out
    assert "■ Open questions" in out
    assert "weekly.md saved" in out
    assert "weekly-talktime.png saved" in out
    md = next(vos_app.outbox.root.glob("*.md")).read_text()  # the console keeps it until the TTL
    assert "**[00:04] Speaker 1:** We decided to launch the mobile app on Friday." in md
    listing = await console.say("/meetings")
    assert "weekly · done" in listing
    answer = await console.say("/ask When do we launch the mobile app?")
    assert "[weekly, 00:04, Speaker 1] We decided to launch the mobile app on Friday." in answer


async def test_ask_abstains_and_other_users_see_nothing(vos_app: App, tmp_path: Path) -> None:
    _fake_engines(vos_app)
    alice = ScriptedConsole(vos_app, user_id="alice", locale=Locale.EN)
    await alice.say("/meeting", f"/file {write_wav(tmp_path / 'weekly.wav', 25)}")
    bob = ScriptedConsole(vos_app, user_id="bob", locale=Locale.KO)
    assert "아직 회의가 없어요" in await bob.say("/meetings")
    assert t(Locale.KO, "meetings.qa.not_found") in await bob.say("/ask When do we launch the mobile app?")
    assert "/ask" in await alice.say("/ask")
    assert "I couldn't find that in your meetings." in await alice.say("/ask Who won the football match?")


async def test_a_failed_import_says_what_failed(vos_app: App, tmp_path: Path) -> None:
    vos_app.meetings.stt_factory = lambda: FakeSTT(fail=RuntimeError("model file is corrupt"))
    vos_app.meetings.diarizer_factory = None
    console = ScriptedConsole(vos_app, locale=Locale.EN)
    out = await console.say("/meeting", f"/file {write_wav(tmp_path / 'x.wav', 3)}")
    assert "Processing failed at transcribe: RuntimeError: model file is corrupt" in out
    assert "x · failed" in await console.say("/meetings")


def test_meeting_scope_follows_the_events_typed_space() -> None:
    from core.context import Context
    from core.domain.events import TextMessage
    from core.domain.identity import Locale, Platform, Space, User, UserRef
    from core.meetings.commands import meeting_scope
    from core.storage.ids import utcnow

    user = User(
        id="u1",
        platform=Platform.DISCORD,
        platform_user_id="9",
        display_name="x",
        locale=Locale.KO,
        created_at=utcnow(),
    )
    ref = UserRef(platform=Platform.DISCORD, platform_user_id="9")

    def ctx(**where: object) -> Context:
        return Context(user=user, locale=Locale.KO, event=TextMessage(text="hi", user=ref, **where))  # type: ignore[arg-type]

    assert meeting_scope(ctx(chat_id="discord:dm:9", space=Space.guild("42"))).guild_id == "42"
    assert meeting_scope(ctx(chat_id="discord:dm:9")).user_id == "u1"
    # The chat id is the adapter's address, never read by core: a guild-looking one scopes nothing.
    assert meeting_scope(ctx(chat_id="discord:guild:42")).user_id == "u1"
    assert meeting_scope(ctx(chat_id="g", space=Space.chat("-100"))).user_id == "u1"


async def test_forget_me_deletes_meetings_and_their_audio(vos_app: App, tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from core.storage import models

    _fake_engines(vos_app)
    console = ScriptedConsole(vos_app, locale=Locale.EN)
    await console.say("/meeting", f"/file {write_wav(tmp_path / 'weekly.wav', 25)}")
    assert [k async for k in vos_app.blobs.keys()]
    out = await console.say("/forget_me", "1")
    assert "deleted" in out.lower()
    async with vos_app.db.read() as s:
        for table in models.Base.metadata.sorted_tables:
            assert int(await s.scalar(select(func.count()).select_from(table)) or 0) == 0, table.name
    assert [k async for k in vos_app.blobs.keys()] == []
