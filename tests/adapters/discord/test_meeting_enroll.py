"""/meeting enroll: consent first, then the held recording; the voice belongs to the guild and its member."""

from __future__ import annotations

from pathlib import Path

from bot.wiring import App
from core.domain.identity import Locale
from core.domain.meetings import MeetingScope
from core.i18n import t
from core.meetings.optouts import MeetingOptOuts
from core.storage.optout_repository import MeetingOptOutRepository
from core.storage.voice_enrolment_repository import VoiceEnrolmentRepository
from tests.adapters.discord.fakes import ALICE, GUILD_ID, attachment_payload, click, slash, snowflake
from tests.support.speech import SPEAKERS, ConstantEncoder, requires_espeak, speak, write_wav

KO = Locale.KO


def _button(http, label: str) -> str:
    for call in reversed(http.messages()):
        for component in call.components:
            if component.get("label") == label:
                return str(component["custom_id"])
    raise AssertionError(f"no button {label!r} in {http.texts()}")


def _recording(path: Path) -> bytes:
    text = "Hello, this is my voice. I am reading a few sentences so that meetings can show my name."
    return write_wav(path, speak(text, SPEAKERS[1])).read_bytes()


@requires_espeak
async def test_meeting_enroll_asks_consent_then_enrols_for_the_guild(
    http, client, make_adapter, vos_app: App, tmp_path: Path
):
    assert vos_app.meetings.enrolment is not None
    vos_app.meetings.enrolment.encoder_factory = ConstantEncoder
    repo = VoiceEnrolmentRepository(vos_app.db)
    # As bot/runner.py wires it: the persisted register deletes the member's enrolled voice on /optout.
    optouts = MeetingOptOuts(MeetingOptOutRepository(vos_app.db), forget_voice=repo.delete_member)
    adapter = make_adapter(vos_app.engine, optouts=optouts)
    data = _recording(tmp_path / "me.wav")
    att = attachment_payload(str(snowflake()), "me.wav", data, "audio/wav")
    http.cdn[att["url"]] = data

    await adapter.tree._call(
        slash(client, "meeting enroll", {"recording": att["id"]}, attachments={att["id"]: att})
    )
    assert "동의하시나요?" in http.texts()[-1] and t(KO, "enrol.scope_guild") in http.texts()[-1]
    assert await repo.for_scope(MeetingScope.of_guild(str(GUILD_ID))) == []  # nothing read before consent
    await adapter.on_interaction(click(client, _button(http, t(KO, "common.yes"))))
    assert any("목소리가" in x and "등록됐어요" in x for x in http.texts()), http.texts()
    voices = await repo.for_scope(MeetingScope.of_guild(str(GUILD_ID)))
    assert len(voices) == 1 and voices[0].platform_user_id == str(ALICE)
    assert voices[0].consent_text.startswith("VOS가 제 녹음으로") and voices[0].guild_id == str(GUILD_ID)
    assert not list(adapter.config.downloads_dir.iterdir())  # the held recording was removed after use
    # /optout in the guild deletes it.
    await adapter.tree._call(slash(client, "optout", {}))
    assert await repo.for_scope(MeetingScope.of_guild(str(GUILD_ID))) == []
