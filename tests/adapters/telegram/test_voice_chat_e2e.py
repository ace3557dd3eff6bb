"""Voice messages over Telegram with the REAL engine: a voice note in → progress, what was heard, the star's
bubbles; with /voicereply on, a sendVoice after them. The recogniser is a fake injected through ``build_app``;
speech synthesis for voice replies is the real espeak-ng.
"""

from __future__ import annotations

import shutil

import pytest

from core.domain.identity import Locale
from core.i18n import t
from core.voice.audio import encode_audio
from tests.adapters.telegram.botapi_server import BotApiServer, RecordedRequest
from tests.adapters.telegram.test_engine_e2e import (  # noqa: F401  (start_vos is a fixture)
    ALICE,
    MOM_LINES,
    StartVos,
    create_star,
    start_vos,
    texts,
)
from tests.support.speech import speak
from tests.support.stt import FakeSpeechToText

KO = Locale.KO
HEARD = "김치찌개 생각난다"
SCAM = "급하게 돈 보내줘 계좌번호 110-123-456789"

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def voice_note(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real OGG/Opus voice note."""
    path = tmp_path_factory.mktemp("tg-notes") / "note.ogg"
    return encode_audio(speak("I miss your kimchi stew."), 16000, path).read_bytes()


def star_bubbles(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    """The star's messages: those with the 🔊 button under them."""
    listen = t(KO, "telegram.listen_button")
    return [
        r
        for r in requests
        if any(
            b["text"] == listen
            for row in (r.params.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        )
    ]


async def test_a_voice_message_is_transcribed_and_answered(
    start_vos: StartVos,  # noqa: F811
    server: BotApiServer,
    voice_note: bytes,
) -> None:
    stt = FakeSpeechToText(HEARD)
    _, alice, _ = await start_vos(stt=stt, limits={"messages_per_minute": 600})
    await create_star(alice)
    deleted_before = len(server.calls("deleteMessage", chat_id=ALICE))

    reply = await alice.send_voice(voice_note)
    said = texts(reply)
    assert said[0] == t(KO, "voicechat.listening")  # the progress message…
    assert len(server.calls("deleteMessage", chat_id=ALICE)) == deleted_before + 1  # …removed when done
    assert said[1] == t(KO, "voicechat.heard", text=HEARD)
    bubbles = star_bubbles(reply)
    assert bubbles, said
    assert all(b.params["text"] in MOM_LINES for b in bubbles)
    assert any("김치찌개" in b.params["text"] for b in bubbles)
    assert reply.index(bubbles[0]) > 1
    # The adapter downloaded the note and the engine heard the whole of it.
    assert any(path.startswith("voice/") for path in server.downloads)
    (call,) = stt.calls
    assert 1.0 < call.seconds < 4.0
    assert server.calls("sendVoice", chat_id=ALICE) == []  # voice replies are off by default


async def test_voice_replies_follow_the_bubbles_only_when_turned_on(
    start_vos: StartVos,  # noqa: F811
    server: BotApiServer,
    voice_note: bytes,
) -> None:
    stt = FakeSpeechToText(HEARD)
    _, alice, _ = await start_vos(stt=stt, limits={"messages_per_minute": 600})
    await create_star(alice)

    assert texts(await alice.say("/voicereply")) == [t(KO, "voicechat.replies_on")]
    reply = await alice.send_voice(voice_note)
    bubbles = star_bubbles(reply)
    assert bubbles
    (voice,) = server.calls("sendVoice", chat_id=ALICE)
    assert voice.status == 200
    assert "기본 음성" in str(voice.params.get("caption", ""))
    order = server.calls("sendMessage", "sendVoice", chat_id=ALICE)
    assert order[-1] is voice  # after every text bubble
    assert order.index(bubbles[-1]) < order.index(voice)
    # "recording a voice note…" shows while it is made.
    actions = server.calls("sendChatAction", chat_id=ALICE)
    assert any(a.params.get("action") == "record_voice" for a in actions)

    # A scam phrase said aloud is refused like typed text and never spoken.
    stt.text = SCAM
    refused = texts(await alice.send_voice(voice_note))
    assert refused[1] == t(KO, "voicechat.heard", text=SCAM)
    assert refused[-1] == t(KO, "safety.blocked")
    assert len(server.calls("sendVoice", chat_id=ALICE)) == 1

    stt.text = HEARD
    assert texts(await alice.say("/voicereply")) == [t(KO, "voicechat.replies_off")]
    assert star_bubbles(await alice.send_voice(voice_note))
    assert len(server.calls("sendVoice", chat_id=ALICE)) == 1  # none for the last note


async def test_a_broken_voice_note_gets_a_clear_message(
    start_vos: StartVos,  # noqa: F811
    server: BotApiServer,
) -> None:
    stt = FakeSpeechToText(HEARD)
    _, alice, _ = await start_vos(stt=stt, limits={"messages_per_minute": 600})
    await create_star(alice)
    said = texts(await alice.send_voice(b"OggS\x00\x02" + bytes(range(256)) * 8))
    assert said == [t(KO, "voicechat.listening"), t(KO, "voice.audio.broken")]
    assert stt.calls == []


async def test_voicereply_is_in_the_command_menu_in_both_languages(
    start_vos: StartVos,  # noqa: F811
    server: BotApiServer,
) -> None:
    await start_vos()
    registered = server.calls("setMyCommands")
    assert registered
    for request in registered:
        commands = {c["command"]: c["description"] for c in _commands(request)}
        locale = Locale(request.params.get("language_code") or "en")
        assert commands["voicereply"] == t(locale, "telegram.commands.voicereply")


def _commands(request: RecordedRequest) -> list[dict[str, str]]:
    import json

    value = request.params["commands"]
    return json.loads(value) if isinstance(value, str) else list(value)


def test_help_mentions_voice_replies() -> None:
    for locale in Locale:
        assert t(locale, "help.cmd.voicereply") != "help.cmd.voicereply"  # /help lists it with this line
