"""espeak-ng speech synthesizer: the offline default, Korean and English, never a clone.

espeak-ng runs in a subprocess (no shell); the text goes in on stdin, so nothing in it can become an option,
and SSML is off (no ``-m``), so markup in a message is spoken, not obeyed. Pitch and rate come from the
star's measured voice traits; the voice variant from the gender hint. Users are told it is a basic voice,
not their loved one's (``synth.basic_voice``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import struct
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from core.ports import (
    Audio,
    EngineUnavailable,
    SpeechCapabilities,
    SynthesizedSpeech,
    VoiceSpec,
    language_code,
)
from core.voice.syllables import syllables_per_second
from core.voice.text_split import check_length, split_text

log = logging.getLogger(__name__)

# Measured F0 (Hz, median by core.voice.analysis.median_f0) of espeak-ng 1.51 output at -p 0, 25, 50, 75, 99.
# The language barely matters (en-us and ko agree within a few Hz); the variant does.
_PITCH_STEPS = (0.0, 25.0, 50.0, 75.0, 99.0)
_MALE_F0 = (70.0, 84.0, 102.0, 131.0, 170.0)
_FEMALE_F0 = (131.0, 157.0, 194.0, 249.0, 322.0)
# Above this F0 an unlabelled voice is served by the female variant, whose range starts there.
_FEMALE_FROM_HZ = 160.0
# Words per minute measured (core.voice.analysis.speaking_rate_wpm, transcript word counts) per unit of
# espeak -s: English output reads about 1.3x its setting; Korean eojeol per minute about 0.74x.
_RATE_FACTOR = {"en": 1.3, "ko": 0.74}
_MIN_SPEED, _MAX_SPEED = 80, 450
ESPEAK_RATE = 22050  # espeak-ng's own output rate

RateTable = tuple[tuple[int, float], ...]
"""``(espeak -s, syllables per second its output is measured at)`` pairs, slowest first."""
# The synthesizer calibrates itself: it speaks these sentences at these speeds once per voice and language
# and measures its own output the way a recording is measured (core.voice.syllables).
_CALIBRATION_SPEEDS = (80, 140, 200, 260, 340)
_CALIBRATION_TEXT = {
    "ko": "오늘 저녁에 김치찌개 끓여 놨으니까 와서 먹고 가. 날씨가 추우니까 옷 따뜻하게 입고 다녀.",
    "en": "I made some soup for dinner tonight, so come over and eat before you go. It is cold outside.",
}
# What that calibration measured with espeak-ng 1.51 here: used when it cannot run.
_MEASURED_RATES: dict[str, RateTable] = {
    "ko": ((80, 2.55), (120, 3.62), (160, 4.66), (200, 5.88), (260, 7.69), (320, 9.14)),
    "en": ((80, 2.17), (120, 2.99), (160, 3.87), (200, 4.96), (260, 6.62), (320, 8.33)),
}


class SynthesisError(RuntimeError):
    """The synthesizer process failed or timed out."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EspeakOptions:
    """How espeak-ng is run."""

    binary: str = "espeak-ng"
    voices: dict[str, str] = field(default_factory=lambda: {"ko": "ko", "en": "en-us"})
    male_variant: str = ""  # espeak-ng's default voices are male; measured closer than m3 to male stars
    female_variant: str = "f2"
    default_pitch: int = 50
    default_speed: int = 160
    max_chars: int = 2000
    chunk_chars: int = 400
    timeout_s: float = 30.0
    max_concurrency: int = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class EspeakVoiceSettings:
    """The command-line voice settings chosen for one request."""

    voice: str
    pitch: int
    speed: int


def pitch_for_f0(f0_hz: float, variant: Literal["male", "female"]) -> int:
    """The espeak ``-p`` value (0..99) whose output has about ``f0_hz`` median pitch."""
    table = _FEMALE_F0 if variant == "female" else _MALE_F0
    return round(float(np.interp(f0_hz, table, _PITCH_STEPS)))


def speed_for_wpm(words_per_minute: float, language: str = "en") -> int:
    """The espeak ``-s`` value whose output is measured at about ``words_per_minute`` in ``language``."""
    factor = _RATE_FACTOR.get(language_code(language), 1.0)
    return int(np.clip(round(words_per_minute / factor), _MIN_SPEED, _MAX_SPEED))


def speed_for_sps(syllables_per_second: float, table: RateTable) -> int:
    """The espeak ``-s`` whose output is measured at ``syllables_per_second`` (linear between the table's
    points, extended along its end segments; clamped to espeak's usable range)."""
    points = sorted(table, key=lambda p: p[1])
    if len(points) < 2:
        raise ValueError("a rate table needs two points")
    if syllables_per_second <= points[0][1]:
        (s0, r0), (s1, r1) = points[0], points[1]
    elif syllables_per_second >= points[-1][1]:
        (s0, r0), (s1, r1) = points[-2], points[-1]
    else:
        rates = [r for _, r in points]
        speeds = [s for s, _ in points]
        return int(
            np.clip(round(float(np.interp(syllables_per_second, rates, speeds))), _MIN_SPEED, _MAX_SPEED)
        )
    speed = s0 + (syllables_per_second - r0) * (s1 - s0) / (r1 - r0)
    return int(np.clip(round(speed), _MIN_SPEED, _MAX_SPEED))


def voice_settings(
    language: str, voice: VoiceSpec | None, options: EspeakOptions, rates: RateTable | None = None
) -> EspeakVoiceSettings:
    """Map a star's voice traits to espeak-ng voice, pitch and speed.

    The speed comes from the star's syllables per second through ``rates`` (espeak's own measured rates for
    this voice and language; the table measured here when not given), else from a words-per-minute figure.
    """
    base = options.voices[language_code(language)]
    if voice is None:
        return EspeakVoiceSettings(voice=base, pitch=options.default_pitch, speed=options.default_speed)
    gender = voice.gender_hint
    if gender is None and voice.median_f0_hz is not None:
        gender = "female" if voice.median_f0_hz > _FEMALE_FROM_HZ else "male"
    pitch = options.default_pitch
    if voice.median_f0_hz is not None:
        pitch = pitch_for_f0(voice.median_f0_hz, "female" if gender == "female" else "male")
    variant = {"female": options.female_variant, "male": options.male_variant}.get(gender or "")
    wpm = voice.words_per_minute
    speed = options.default_speed if wpm is None else speed_for_wpm(wpm, language)
    if voice.syllables_per_second:
        table = rates or _MEASURED_RATES.get(language_code(language), _MEASURED_RATES["en"])
        speed = speed_for_sps(voice.syllables_per_second, table)
    return EspeakVoiceSettings(voice=f"{base}+{variant}" if variant else base, pitch=pitch, speed=speed)


def parse_wav(data: bytes) -> tuple[Audio, int]:
    """Decode espeak's 16-bit PCM WAV to float32.

    Written to a pipe, the header carries a placeholder data size, so the data runs to the end of the stream.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SynthesisError("espeak-ng did not return a WAV stream")
    pos, rate, channels, bits = 12, 0, 1, 16
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            _fmt, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", data, body)
        elif chunk_id == b"data":
            if not rate or bits != 16:
                raise SynthesisError("unexpected WAV format from espeak-ng")
            pcm = data[body : min(len(data), body + size)]
            pcm = pcm[: len(pcm) - len(pcm) % (2 * channels)]
            samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
            if channels > 1:
                samples = samples.reshape(-1, channels).mean(axis=1).astype(np.float32)
            return samples, rate
        pos = body + size + (size & 1)
    raise SynthesisError("espeak-ng WAV stream has no data")


class EspeakSynthesizer:
    """espeak-ng in a subprocess: a basic voice with the star's pitch and pace, not a clone."""

    name = "espeak"
    clones_voice = False
    label_key = "synth.basic_voice"

    def __init__(self, options: EspeakOptions | None = None) -> None:
        self.options = options or EspeakOptions()
        # The languages are the voices configured (espeak-ng has many; VOS maps the ones it was measured in).
        self.capabilities = SpeechCapabilities(
            languages=frozenset(self.options.voices), sample_rates=(ESPEAK_RATE,)
        )
        self._semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self._rates: dict[tuple[str, str], RateTable] = {}

    def _semaphore(self) -> asyncio.Semaphore:
        # One per event loop: a semaphore is bound to the loop it first waits on.
        loop = asyncio.get_running_loop()
        if loop not in self._semaphores:
            self._semaphores = {loop: asyncio.Semaphore(self.options.max_concurrency)}
        return self._semaphores[loop]

    def _binary(self) -> str:
        path = shutil.which(self.options.binary)
        if path is None:
            raise EngineUnavailable(
                f"{self.options.binary} is not installed; install the Debian/Ubuntu package "
                "'espeak-ng' (apt-get install espeak-ng)"
            )
        return path

    async def synthesize(
        self, text: str, *, language: str, voice: VoiceSpec | None = None
    ) -> SynthesizedSpeech:
        """Speak ``text`` with pitch and rate from ``voice``; long text is spoken chunk by chunk."""
        if not self.capabilities.supports(language):
            raise ValueError(f"espeak backend speaks {sorted(self.capabilities.languages)}, not {language!r}")
        normalized = check_length(text, self.options.max_chars)
        chunks = split_text(normalized, self.options.chunk_chars)
        if not chunks:
            raise ValueError("nothing to speak: the text is empty")
        binary = self._binary()
        settings = voice_settings(language, voice, self.options)
        if voice is not None and voice.syllables_per_second:
            rates = await self.rate_table(language, settings.voice)
            settings = voice_settings(language, voice, self.options, rates)
        parts: list[Audio] = []
        rate = 0
        for chunk in chunks:
            audio, rate = await self._run(binary, chunk, settings)
            parts.append(audio)
        return SynthesizedSpeech(
            audio=np.concatenate(parts).astype(np.float32), sample_rate=rate, engine=self.name, is_clone=False
        )

    async def rate_table(self, language: str, voice_name: str) -> RateTable:
        """espeak-ng's own speaking rate at several ``-s`` values for this voice and language, measured once
        in syllables per second the way recordings are (the table measured here if that fails)."""
        lang = language_code(language)
        key = (voice_name, lang)
        if key not in self._rates:
            text = _CALIBRATION_TEXT.get(lang, _CALIBRATION_TEXT["en"])
            points: list[tuple[int, float]] = []
            try:
                for speed in _CALIBRATION_SPEEDS:
                    settings = EspeakVoiceSettings(
                        voice=voice_name, pitch=self.options.default_pitch, speed=speed
                    )
                    audio, rate = await self._run(self._binary(), text, settings)
                    measured = await asyncio.to_thread(syllables_per_second, audio, rate, transcript=text)
                    if measured:
                        points.append((speed, measured))
            except (SynthesisError, OSError) as exc:
                log.warning("espeak-ng rate calibration failed (%s); using the table measured here", exc)
            rising = all(b[1] > a[1] for a, b in itertools.pairwise(points))
            self._rates[key] = (
                tuple(points)
                if len(points) >= 2 and rising
                else _MEASURED_RATES.get(lang, _MEASURED_RATES["en"])
            )
            log.info("espeak-ng rates for %s: %s", voice_name, self._rates[key])
        return self._rates[key]

    async def _run(self, binary: str, text: str, settings: EspeakVoiceSettings) -> tuple[Audio, int]:
        # Text travels on stdin, never argv: a message like "-w /tmp/x" is words, not an option.
        cmd = [
            binary, "-v", settings.voice, "-p", str(settings.pitch), "-s", str(settings.speed),
            "-b", "1", "--stdin", "--stdout",
        ]  # fmt: skip
        async with self._semaphore():
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(
                    proc.communicate(text.encode("utf-8")), self.options.timeout_s
                )
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise SynthesisError(f"espeak-ng took longer than {self.options.timeout_s:.0f} s") from None
        if proc.returncode != 0:
            message = err.decode("utf-8", "replace").strip()[:200]
            raise SynthesisError(f"espeak-ng failed ({proc.returncode}): {message}")
        return parse_wav(out)
