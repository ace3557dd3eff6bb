"""The /voice flow with the real offline engines: espeak-ng speakers, resemblyzer separation, espeak /listen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.backends.espeak_synthesizer import EspeakSynthesizer
from core.commands import Commands
from core.flows.voice_setup import VoiceSetupFlow
from core.voice.analysis import median_f0
from core.voice.audio import decode_audio, encode_audio, is_ai_generated
from core.voice.listen import _language_of
from tests.support.app import ScriptedConsole
from tests.support.extras import need
from tests.support.speech import SAMPLE_RATE, SyntheticVoice, conversation, requires_espeak, speak

pytestmark = [pytest.mark.ml, pytest.mark.slow, requires_espeak]

VOICES = (
    SyntheticVoice("en-us", pitch=35, speed=150, variant="boris"),
    SyntheticVoice("en-us", pitch=50, variant="klatt"),
    SyntheticVoice("en-us", pitch=85, variant="f2"),
)
LINES = [
    (0, "Good morning everyone, I brought the bread from the bakery on the corner."),
    (1, "Thank you, put it on the table next to the flowers please."),
    (2, "Come here children, grandma made soup for all of you today, it is still very hot."),
    (0, "The train was late again, so I walked the last part of the way."),
    (1, "We should leave early tomorrow if we want to see the sea before lunch."),
    (2, "Do not forget your warm coats, the wind by the water is always stronger than you think."),
    (0, "I will drive, the car has enough fuel for the whole trip."),
    (1, "Then I will pack the sandwiches and the big blue blanket."),
    (2, "And I will sing the old songs on the way, just like when you were little."),
]
TARGET = 2  # the grandmother: the high f2 voice
_SAVED = re.compile(r"(?:saved|저장됨): (\S+)")


async def test_voice_setup_with_real_engines_then_listen_in_that_pitch(vos_app: App, tmp_path: Path) -> None:
    need("resemblyzer")
    need("torch")
    flow = vos_app.engine.router.flows[VoiceSetupFlow.kind]
    assert isinstance(flow, VoiceSetupFlow) and flow.engines is not None
    user = await local_user(vos_app, "local")
    await ensure_demo_star(vos_app, user)
    star = (await vos_app.stars.list_owned(user.id))[0]
    audio, _ = conversation(LINES, voices=VOICES)
    rec = encode_audio(audio, SAMPLE_RATE, tmp_path / "family.ogg")

    console = ScriptedConsole(vos_app)
    await console.say("/voice", "1")
    out = await console.say(f"/voice {rec}")
    assert "몇 명" in out
    out = await console.say("3")
    notes = [Path(p) for p in _SAVED.findall(out) if p.endswith(".ogg")]
    assert len(notes) == 3, out
    assert any(p.endswith("timeline.png") for p in _SAVED.findall(out))
    assert not any(is_ai_generated(p) for p in notes)
    # Pick by ear: the sample whose pitch is nearest the grandmother's voice.
    target_f0 = median_f0(speak(LINES[2][1], VOICES[TARGET]), SAMPLE_RATE)
    assert target_f0 is not None
    f0s = [median_f0(decode_audio(p).samples, SAMPLE_RATE) or 0.0 for p in notes]
    number = min(range(3), key=lambda i: abs(f0s[i] - target_f0)) + 1
    out = await console.say(str(number))
    assert "목소리를 간직했어요" in out, out

    commands = vos_app.engine.router.commands["voice"].__self__  # type: ignore[attr-defined]
    assert isinstance(commands, Commands) and commands.voice_profiles is not None
    profile = await commands.voice_profiles.profile(user.id, star.id)
    assert profile is not None and profile.total_seconds >= 6.0
    assert profile.median_f0_hz is not None and abs(profile.median_f0_hz - target_f0) < 0.15 * target_f0
    assert len(profile.embedding) == 256 and profile.engine == "resemblyzer"

    await console.say("비가 엄청 와")
    out = await console.say("/listen")
    note = Path(_SAVED.findall(out)[0])
    assert is_ai_generated(note)
    spoken_f0 = median_f0(decode_audio(note).samples, SAMPLE_RATE)
    turn = await vos_app.chats.last_star_turn(user.id, star.id)
    assert turn is not None and spoken_f0 is not None
    default = await EspeakSynthesizer().synthesize(turn.text, language=_language_of(turn.text, user.locale))
    default_f0 = median_f0(default.audio, default.sample_rate)
    assert default_f0 is not None
    assert abs(spoken_f0 - profile.median_f0_hz) < abs(default_f0 - profile.median_f0_hz), (
        spoken_f0,
        default_f0,
        profile.median_f0_hz,
    )
