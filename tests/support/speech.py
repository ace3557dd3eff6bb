"""Synthetic speech for tests: espeak-ng voices make distinct, reproducible speakers."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

SAMPLE_RATE = 16000

requires_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


@dataclass(frozen=True, slots=True)
class SyntheticVoice:
    """An espeak-ng voice setting that sounds like one person."""

    voice: str = "en-us"
    pitch: int = 50
    speed: int = 160
    variant: str | None = None

    @property
    def voice_name(self) -> str:
        return f"{self.voice}+{self.variant}" if self.variant else self.voice


# Voices that resemblyzer separates reliably (different variants and pitch ranges).
SPEAKERS: tuple[SyntheticVoice, ...] = (
    SyntheticVoice(voice="en-us", pitch=25, variant="m3"),
    SyntheticVoice(voice="en-us", pitch=85, variant="f2"),
    SyntheticVoice(voice="en-gb", pitch=55, variant="m7"),
    SyntheticVoice(voice="en-us", pitch=70, variant="f4"),
)


def _resample(audio: npt.NDArray[np.float32], src: int, dst: int) -> npt.NDArray[np.float32]:
    if src == dst or audio.size == 0:
        return audio
    n = round(audio.size * dst / src)
    x_new = np.linspace(0, audio.size - 1, n)
    return np.interp(x_new, np.arange(audio.size), audio).astype(np.float32)


def speak(
    text: str, voice: SyntheticVoice = SyntheticVoice(), sample_rate: int = SAMPLE_RATE
) -> npt.NDArray[np.float32]:
    """Speak ``text`` with espeak-ng and return mono float32 audio at ``sample_rate``."""
    cmd = [
        "espeak-ng",
        "-v",
        voice.voice_name,
        "-p",
        str(voice.pitch),
        "-s",
        str(voice.speed),
        "--stdout",
        text,
    ]
    wav_bytes = subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout
    with wave.open(io.BytesIO(wav_bytes)) as wf:
        src_rate = wf.getframerate()
        frames = wf.readframes(wf.getnframes())
    audio = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    return _resample(audio, src_rate, sample_rate)


def silence(seconds: float, sample_rate: int = SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """Digital silence."""
    return np.zeros(round(seconds * sample_rate), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class KnownTurn:
    """Ground truth of a synthetic recording: who spoke when."""

    start: float
    end: float
    speaker: int
    text: str


def conversation(
    lines: list[tuple[int, str]],
    voices: tuple[SyntheticVoice, ...] = SPEAKERS,
    gap_s: float = 0.6,
    sample_rate: int = SAMPLE_RATE,
) -> tuple[npt.NDArray[np.float32], list[KnownTurn]]:
    """A recording of several speakers taking turns; returns the audio and the true turns."""
    parts: list[npt.NDArray[np.float32]] = [silence(0.3, sample_rate)]
    turns: list[KnownTurn] = []
    t = 0.3
    for speaker, text in lines:
        clip = speak(text, voices[speaker], sample_rate)
        parts.append(clip)
        turns.append(KnownTurn(start=t, end=t + clip.size / sample_rate, speaker=speaker, text=text))
        t += clip.size / sample_rate
        parts.append(silence(gap_s, sample_rate))
        t += gap_s
    return np.concatenate(parts), turns


def write_wav(path: Path, audio: npt.NDArray[np.float32], sample_rate: int = SAMPLE_RATE) -> Path:
    """``audio`` as a 16-bit mono WAV file at ``path``."""
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(sample_rate)
        wf.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


class ConstantEncoder:
    """``SpeakerEncoder`` giving every voice the same unit vector (when what matters is that one is there)."""

    name = "test"

    def embed(
        self, audio: npt.NDArray[np.float32], *, sample_rate: int = SAMPLE_RATE
    ) -> npt.NDArray[np.float32]:
        """The same 8-dimensional unit vector for any audio."""
        return np.full(8, 1 / np.sqrt(8), np.float32)
