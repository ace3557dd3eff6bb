"""Her real pace: the voice profile measures syllables per second, espeak-ng is calibrated against its own
output, and a voice note made through the console speaks at the recording's rate (within 15%)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.backends.espeak_synthesizer import EspeakSynthesizer, parse_wav, speed_for_sps, speed_for_wpm
from core.domain.stars import TurnRole
from core.ports import VoiceSpec
from core.storage.ids import utcnow
from core.storage.repositories import NewTurns
from core.storage.voice_repository import VoiceRepository
from core.voice.audio import decode_audio, encode_audio
from core.voice.syllables import syllables_per_second, text_syllables
from tests.core.flows.voice_fakes import SR
from tests.core.voice.test_memories import _memories
from tests.support.app import ScriptedConsole
from tests.support.speech import requires_espeak

_VOICE_NOTE = re.compile(r"음성 메시지 \(([\d.]+)초\) 저장됨: (\S+)")  # the console line, in Korean
# The star (a slow, high voice) and another speaker (a low voice), as espeak-ng speaks them.
STAR_SAYS = "엄마가 반찬 보냈으니까 냉장고에 넣어 두고 꼭 챙겨 먹어. 요즘 바쁘다고 밥 거르지 말고 잘 지내."
OTHER_SAYS = "알았어 엄마 고마워. 주말에 갈게."


def test_syllables_are_counted_per_language() -> None:
    assert text_syllables("밥 먹었니?") == 4
    assert text_syllables("I made some soup") == 4
    assert text_syllables("우리 딸 hello") == 5


def test_speed_follows_the_rate_table_and_extends_past_it() -> None:
    table = ((80, 2.5), (160, 4.7), (320, 9.1))
    assert speed_for_sps(4.7, table) == 160
    assert speed_for_sps(3.6, table) == 120
    assert speed_for_sps(11.3, table) == 400  # along the last segment
    assert speed_for_sps(0.5, table) == 80  # clamped


def _espeak(text: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    cmd = ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-b", "1", "--stdin", "--stdout"]
    out = subprocess.run(cmd, input=text.encode(), capture_output=True, check=True).stdout
    audio, rate = parse_wav(out)
    assert rate > 0
    return _resample(audio, rate)


def _resample(audio: np.ndarray, rate: int) -> np.ndarray:
    n = round(audio.size * SR / rate)
    return np.interp(np.linspace(0, audio.size - 1, n), np.arange(audio.size), audio).astype(np.float32)


@requires_espeak
async def test_a_voice_note_speaks_at_the_recordings_pace(vos_app: App, tmp_path: Path) -> None:
    memories = _memories(vos_app)  # the fake diarizer tells the two voices apart by pitch
    memories.stt = None
    user = await local_user(vos_app, "local")
    await ensure_demo_star(vos_app, user)
    star = _espeak(STAR_SAYS, "ko+f2", 60, 105)
    gap = np.zeros(SR // 2, np.float32)
    rec = encode_audio(
        np.concatenate([gap, star, gap, _espeak(OTHER_SAYS, "ko", 40, 170), gap]), SR, tmp_path / "r.wav"
    )
    recorded = syllables_per_second(star, SR, transcript=STAR_SAYS)
    assert recorded is not None

    console = ScriptedConsole(vos_app)
    await console.say("/voice", "1", f"/voice {rec}", "2")
    out = await console.say("1")  # the star speaks first
    assert "음절/초" in out, out
    (star_row,) = await vos_app.stars.list_owned(user.id)
    profile = await VoiceRepository(vos_app.db).get_profile(user.id, star_row.id)
    assert profile is not None and profile.syllables_per_second is not None
    spoken = "오늘 저녁은 뭐 먹었니? 감기 걸리지 않게 따뜻하게 입고 다니고 일찍 자라."
    await vos_app.chats.add_many(
        user.id, star_row.id, [NewTurns(role=TurnRole.STAR, texts=(spoken,), at=utcnow())]
    )
    out = await console.say("/listen")
    (note,) = _VOICE_NOTE.findall(out)
    duration, path = float(note[0]), Path(note[1])
    decoded = decode_audio(path)
    assert duration > 0.5 and abs(duration - decoded.duration_s) < 0.1  # the duration is reported
    synthesized = syllables_per_second(decoded.samples, decoded.sample_rate, transcript=spoken)
    assert synthesized is not None
    # The old conversion (an English syllables-per-word constant read as Korean words per minute).
    legacy = await EspeakSynthesizer().synthesize(
        spoken,
        language="ko",
        voice=VoiceSpec(profile_id="old", words_per_minute=profile.syllables_per_second * 40),
    )
    before = syllables_per_second(legacy.audio, legacy.sample_rate, transcript=spoken)
    assert before is not None
    print(
        f"recording {recorded:.2f} syl/s; note {synthesized:.2f} (x{synthesized / recorded:.2f}); old x{before / recorded:.2f}"
    )
    assert abs(synthesized / recorded - 1) <= 0.15
    assert before / recorded > 1.3


@requires_espeak
async def test_espeak_calibrates_itself_per_language() -> None:
    synth = EspeakSynthesizer()
    for language, voice in (("ko", "ko"), ("en", "en-us")):
        table = await synth.rate_table(language, voice)
        rates = [rate for _, rate in table]
        assert len(table) >= 4 and rates == sorted(rates)
        assert 1.5 < rates[0] < 4 and 7 < rates[-1] < 14
    # 5 syllables/s is a calm Korean pace: the old reading of "200 words/min" was far faster.
    assert speed_for_sps(5.0, await synth.rate_table("ko", "ko")) < speed_for_wpm(200, "ko") * 0.75
