"""/enroll through the engine and the scripted console: refusal without the extra, consent, recording."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from bot.wiring import App
from core.domain.identity import Locale, Platform, UserRef
from core.storage.voice_enrolment_repository import VoiceEnrolmentRepository
from tests.support.app import ScriptedConsole
from tests.support.speech import SPEAKERS, ConstantEncoder, requires_espeak, speak, write_wav


async def _user_id(app: App) -> str:
    ref = UserRef(platform=Platform.CONSOLE, platform_user_id="local")
    return (await app.users.get_or_create(ref, display_name="local", locale=Locale.EN)).id


async def test_enroll_refuses_before_asking_for_a_file_without_the_voice_extra(vos_app: App) -> None:
    assert vos_app.meetings.enrolment is not None
    vos_app.meetings.enrolment.encoder_factory = None
    out = await ScriptedConsole(vos_app, locale=Locale.EN).say("/enroll")
    assert "'voice' extra" in out and "Send a recording" not in out and "agree" not in out


async def test_enroll_declined_stores_nothing(app: App) -> None:
    vos_app = app
    assert vos_app.meetings.enrolment is not None
    vos_app.meetings.enrolment.encoder_factory = ConstantEncoder
    console = ScriptedConsole(vos_app, locale=Locale.KO)
    asked = await console.say("/enroll 민지")
    assert "“민지”" in asked and "동의하시나요?" in asked
    assert "아무것도 등록하지 않았어요" in await console.say("아니요")
    assert await VoiceEnrolmentRepository(vos_app.db).of_user(await _user_id(vos_app)) == []


@requires_espeak
async def test_enroll_records_consent_then_the_voice_and_forget_me_deletes_it(
    app: App, tmp_path: Path
) -> None:
    vos_app = app  # SQLite, and PostgreSQL when configured
    assert vos_app.meetings.enrolment is not None
    vos_app.meetings.enrolment.encoder_factory = ConstantEncoder
    console = ScriptedConsole(vos_app, locale=Locale.EN)
    asked = await console.say("/enroll Alice Kim")
    assert "I agree that VOS keeps a voice print" in asked and "my own meetings" in asked
    assert "Send a recording of your voice alone" in await console.say("yes")
    short = write_wav(tmp_path / "short.wav", speak("Hi.", SPEAKERS[1]))
    # A recording too short fails with the reason, and the flow is over (nothing half-stored).
    assert "at least 4.0 s" in await console.say(f"/file {short}")
    await console.say("/enroll Alice Kim", "yes")
    text = "Hello, this is my voice. I am reading a few sentences so that meetings can show my name."
    done = await console.say(f"/file {write_wav(tmp_path / 'me.wav', speak(text, SPEAKERS[1]))}")
    assert "Your voice is enrolled as “Alice Kim”" in done
    voices = await VoiceEnrolmentRepository(vos_app.db).of_user(await _user_id(vos_app))
    assert [v.name for v in voices] == ["Alice Kim"]
    assert voices[0].consent_text.startswith("I agree that VOS keeps a voice print")
    assert voices[0].guild_id is None and voices[0].seconds >= 4.0
    # /export lists the enrolment (wording and time, not the vector).
    from bot.runner import ensure_demo_star

    user = await vos_app.users.get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="local"), display_name="local", locale=Locale.EN
    )
    await ensure_demo_star(vos_app, user)
    star = (await vos_app.stars.list_owned(user.id))[0]
    with zipfile.ZipFile(await vos_app.rights.export_star(user.id, star)) as zf:
        listed = json.loads(zf.read("meeting_voices.json"))
    assert [(v["name"], v["scope"]) for v in listed] == [("Alice Kim", "personal")]
    assert listed[0]["consent"].startswith("I agree that VOS keeps") and "embedding" not in listed[0]
    await console.say("/forget_me", "yes")
    assert await VoiceEnrolmentRepository(vos_app.db).of_user(await _user_id(vos_app)) == []
