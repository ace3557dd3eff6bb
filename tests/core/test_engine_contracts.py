"""One contract per engine role, for every test double of the role and each real backend that runs here.

A fake that drifts from its Protocol (a missing attribute, a duration read at the wrong sample rate, a turn
past the end of the audio) would let core tests pass against behaviour no real engine has; these tests hold
the fakes and the real engines to the same promises.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

import numpy as np
import pytest

from core.domain.audio import Diarization, Transcript
from core.ports import Diarizer, SpeakerEncoder, SpeechSynthesizer, SpeechToText, SynthesizedSpeech
from tests.core.flows.voice_fakes import FakeDiarizer as PitchDiarizer
from tests.core.flows.voice_fakes import FakeEncoder, RecordingSynthesizer
from tests.core.meetings.fakes import FakeDiarizer as ScriptedDiarizer
from tests.core.meetings.fakes import FakeSTT
from tests.support.stt import FakeSpeechToText


def _tone(seconds: float, rate: int, hz: float = 180.0) -> np.ndarray:
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _espeak() -> SpeechSynthesizer:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from core.backends.espeak_synthesizer import EspeakSynthesizer

    return EspeakSynthesizer()


STT: dict[str, Callable[[], SpeechToText]] = {
    "support-fake": lambda: FakeSpeechToText("안녕하세요"),
    "meetings-fake": FakeSTT,
}
DIARIZERS: dict[str, Callable[[], Diarizer]] = {
    "pitch-fake": PitchDiarizer,
    "scripted-fake": lambda: ScriptedDiarizer([(0.0, 0.5, "S1"), (0.5, 1.0, "S2")]),
}
ENCODERS: dict[str, Callable[[], SpeakerEncoder]] = {"pitch-fake": FakeEncoder}
SYNTHESIZERS: dict[str, Callable[[], SpeechSynthesizer]] = {
    "recording-fake": RecordingSynthesizer,
    "espeak": _espeak,
}


@pytest.mark.parametrize("make", STT.values(), ids=STT.keys())
@pytest.mark.parametrize("rate", [16000, 48000])
async def test_speech_to_text_contract(make: Callable[[], SpeechToText], rate: int) -> None:
    stt = make()
    assert isinstance(stt, SpeechToText) and stt.name and stt.capabilities.languages
    result = await stt.transcribe(_tone(1.0, rate), sample_rate=rate, language="ko")
    assert isinstance(result, Transcript)
    assert result.duration_s == pytest.approx(1.0, abs=0.01)  # the sample rate given is the one read
    assert stt.capabilities.supports(result.language)
    for segment in result.segments:
        assert 0.0 <= segment.start <= segment.end <= result.duration_s + 0.01


@pytest.mark.parametrize("make", DIARIZERS.values(), ids=DIARIZERS.keys())
@pytest.mark.parametrize("rate", [16000, 48000])
async def test_diarizer_contract(make: Callable[[], Diarizer], rate: int) -> None:
    diarizer = make()
    assert isinstance(diarizer, Diarizer) and diarizer.name
    audio = np.concatenate([_tone(0.5, rate, 120.0), _tone(0.5, rate, 260.0)])
    result = await diarizer.diarize(audio, sample_rate=rate)
    assert isinstance(result, Diarization) and result.turns
    for turn in result.turns:
        assert 0.0 <= turn.start < turn.end <= audio.size / rate + 0.01 and turn.speaker


@pytest.mark.parametrize("make", ENCODERS.values(), ids=ENCODERS.keys())
def test_speaker_encoder_contract(make: Callable[[], SpeakerEncoder]) -> None:
    encoder = make()
    assert isinstance(encoder, SpeakerEncoder) and encoder.name
    low, high = encoder.embed(_tone(1.0, 16000, 110.0)), encoder.embed(_tone(1.0, 16000, 260.0))
    assert low.ndim == 1 and low.dtype == np.float32 and low.shape == high.shape
    assert np.all(np.isfinite(low)) and np.linalg.norm(low) > 0


@pytest.mark.parametrize("make", SYNTHESIZERS.values(), ids=SYNTHESIZERS.keys())
async def test_speech_synthesizer_contract(make: Callable[[], SpeechSynthesizer]) -> None:
    synth = make()
    assert isinstance(synth, SpeechSynthesizer) and synth.name and synth.capabilities.languages
    for language in sorted(synth.capabilities.languages & {"ko", "en"}):
        speech = await synth.synthesize("안녕 hello", language=language)
        assert isinstance(speech, SynthesizedSpeech)
        assert speech.sample_rate > 0 and speech.audio.ndim == 1 and speech.duration_s > 0.1
        assert speech.audio.dtype == np.float32 and float(np.max(np.abs(speech.audio))) <= 1.0
        assert speech.is_clone is False  # no voice asked for: never presented as a clone
