"""/voice setup: the recording held until the flow asks for audio, samples as attachments, buttons to pick."""

from __future__ import annotations

from pathlib import Path

from bot.runner import ensure_demo_star
from bot.wiring import App
from core.domain.actions import AskChoice, Choice, FileKind, SendText
from core.domain.events import ChoiceMade, CommandInvoked, FileUploaded
from core.domain.identity import Locale, Platform, UserRef
from core.flows.voice_setup import VoiceSetupFlow
from core.i18n import t
from tests.adapters.discord.fakes import ScriptedEngine, attachment_payload, click, slash, snowflake
from tests.core.flows.voice_fakes import TWO_VOICES, fake_engines, write_recording
from tests.support.stt import FakeSpeechToText

KO = Locale.KO
ALICE_ID = 500_000_000_000_000_001


def _attach(http, name: str, data: bytes, mime: str) -> dict:
    att = attachment_payload(str(snowflake()), name, data, mime)
    http.cdn[att["url"]] = data
    return att


async def test_the_recording_is_fed_only_when_a_prompt_expects_audio(http, client, make_adapter):
    yes = Choice(key="f:yes", label="Yes")
    engine = ScriptedEngine(
        http,
        {
            "voice": [AskChoice(prompt="Consent?", options=(yes,))],
            "f:yes": [
                AskChoice(prompt="A photo?", options=(), expects_file=FileKind.IMAGE),
                SendText(text="Send the recording", expects_file=FileKind.AUDIO),
            ],
            "FileUploaded": [AskChoice(prompt="How many people?", options=(Choice(key="f:n2", label="2"),))],
        },
    )
    adapter = make_adapter(engine)
    att = _attach(http, "family.m4a", b"not really audio", "audio/mp4")
    await adapter.tree._call(
        slash(client, "voice setup", {"recording": att["id"]}, attachments={att["id"]: att})
    )
    assert http.calls[0].payload["type"] == 5 and http.calls[0].flags & 64  # deferred, private
    assert [type(e) for e in engine.events] == [CommandInvoked]
    assert engine.events[0].command == "voice"
    assert http.texts()[-1] == "Consent?"

    await adapter.on_interaction(click(client, "vos:c:f:yes"))
    assert [type(e) for e in engine.events] == [CommandInvoked, ChoiceMade, FileUploaded]
    upload = engine.events[-1]
    assert upload.file.filename == "family.m4a" and upload.file.mime_type == "audio/mp4"
    assert not upload.file.path.exists()  # removed after use
    assert http.texts()[-1] == "How many people?"

    await adapter.on_interaction(click(client, "vos:c:f:yes"))  # used once: not fed again
    assert [type(e) for e in engine.events][-1] is ChoiceMade


async def test_a_held_export_is_fed_to_the_export_prompt_only(http, client, make_adapter):
    engine = ScriptedEngine(
        http,
        {
            "new": [AskChoice(prompt="Consent?", options=(Choice(key="f:yes", label="Yes"),))],
            "f:yes": [
                AskChoice(prompt="A photo?", options=(), expects_file=FileKind.IMAGE),
                SendText(text="Send a recording", expects_file=FileKind.AUDIO),
            ],
            "f:go": [SendText(text="Send the export", expects_file=FileKind.KAKAO_EXPORT)],
        },
    )
    adapter = make_adapter(engine)
    att = _attach(http, "talk.txt", b"kakao", "text/plain")
    await adapter.tree._call(
        slash(client, "star create", {"export": att["id"]}, attachments={att["id"]: att})
    )
    await adapter.on_interaction(click(client, "vos:c:f:yes"))  # photo and audio prompts: not the export
    assert [type(e) for e in engine.events] == [CommandInvoked, ChoiceMade]
    await adapter.on_interaction(click(client, "vos:c:f:go"))
    assert [type(e) for e in engine.events] == [CommandInvoked, ChoiceMade, ChoiceMade, FileUploaded]
    assert engine.events[-1].file.filename == "talk.txt"


def _button(http, label: str) -> str:
    for call in reversed(http.messages()):
        for component in call.components:
            if component.get("label") == label:
                return str(component["custom_id"])
    raise AssertionError(f"no button {label!r} in {http.texts()}")


async def test_voice_setup_end_to_end_with_the_real_engine(
    http, client, make_adapter, vos_app: App, tmp_path: Path
):
    flow = vos_app.engine.router.flows[VoiceSetupFlow.kind]
    assert isinstance(flow, VoiceSetupFlow)
    flow.engines = fake_engines()
    if flow.memories is not None:
        flow.memories.stt = FakeSpeechToText()  # hears nothing: voice memories are tested on their own
    user = await vos_app.users.get_or_create(
        UserRef(platform=Platform.DISCORD, platform_user_id=str(ALICE_ID)), display_name="alice", locale=KO
    )
    await ensure_demo_star(vos_app, user)
    star = (await vos_app.stars.list_owned(user.id))[0]
    adapter = make_adapter(vos_app.engine)
    data = write_recording(tmp_path / "family.m4a", TWO_VOICES).read_bytes()
    att = _attach(http, "family.m4a", data, "audio/mp4")

    await adapter.tree._call(
        slash(client, "voice setup", {"recording": att["id"]}, attachments={att["id"]: att})
    )
    assert http.texts()[-1] == t(KO, "voiceflow.consent", star=star.name)
    await adapter.on_interaction(click(client, _button(http, t(KO, "common.yes"))))
    texts = http.texts()
    assert t(KO, "voiceflow.ask_recording", star=star.name) in texts  # asked, and the recording was fed
    assert texts[-1] == t(KO, "voiceflow.ask_count")
    select = next(c for c in http.messages()[-1].components if c["type"] == 3)
    two = next(o["value"] for o in select["options"] if o["label"] == "2")
    await adapter.on_interaction(click(client, select["custom_id"], values=[two]))

    samples = [name for call in http.calls for name, blob in call.files if blob.startswith(b"OggS")]
    timeline = [name for call in http.calls for name, blob in call.files if blob.startswith(b"\x89PNG")]
    assert len(samples) == 2 and len(timeline) == 1  # one sample per speaker, as attachments
    assert http.texts()[-1] == t(KO, "voiceflow.ask_pick", star=star.name)
    speaker_one = t(KO, "voice.separation.speaker_label", number=1)
    await adapter.on_interaction(click(client, _button(http, speaker_one)))
    assert any("목소리를 간직했어요" in x for x in http.texts())
    profile = await flow.profiles.profile(user.id, star.id)
    assert profile is not None and profile.total_seconds >= 6.0
    assert not list(adapter.config.downloads_dir.iterdir())  # the held recording was removed after use
