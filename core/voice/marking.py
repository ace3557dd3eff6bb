"""What every synthesized note carries before it is encoded: a spoken disclaimer, then the watermark.

The EU Code of Practice on AI-generated content asks for a spoken disclaimer at the start of audio-only
content; Korea's AI Basic Act asks that synthetic voices be labelled clearly. The disclaimer
("AI가 만든 목소리입니다." / "This voice is made by AI.") is spoken in the note's language, followed by a
short pause, and the whole note is then watermarked (``core.voice.watermark``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.ports import SpeechSynthesizer, SynthesizedSpeech, VoiceSpec
from core.voice import watermark

PAUSE_S = 0.35


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkingOptions:
    """``disclaimer`` speaks ``wording[language]`` first (on by default); ``watermark`` adds the mark."""

    disclaimer: bool = True
    wording: tuple[tuple[str, str], ...] = (
        ("ko", "AI가 만든 목소리입니다."),
        ("en", "This voice is made by AI."),
    )
    watermark: bool = True

    def words(self, language: str) -> str:
        """The disclaimer in ``language`` (English when that language has none)."""
        table = dict(self.wording)
        return table.get(language) or table.get("en") or ""


def _resample(audio: npt.NDArray[np.float32], src: int, dst: int) -> npt.NDArray[np.float32]:
    if src == dst or audio.size == 0:
        return audio
    count = round(audio.size * dst / src)
    return np.interp(np.linspace(0, audio.size - 1, count), np.arange(audio.size), audio).astype(np.float32)


async def disclaimer_audio(
    synthesizer: SpeechSynthesizer,
    options: MarkingOptions,
    language: str,
    sample_rate: int,
    voice: VoiceSpec | None = None,
) -> npt.NDArray[np.float32] | None:
    """The spoken disclaimer at ``sample_rate`` (``None`` when switched off). A cloning engine says it in
    the note's own voice (it has no other); others in their default voice."""
    words = options.words(language)
    if not options.disclaimer or not words:
        return None
    spoken = await synthesizer.synthesize(
        words, language=language, voice=voice if synthesizer.clones_voice else None
    )
    samples = np.asarray(spoken.audio, dtype=np.float32)
    return _resample(samples, spoken.sample_rate, sample_rate)


def mark(
    speech: SynthesizedSpeech, disclaimer: npt.NDArray[np.float32] | None, options: MarkingOptions
) -> npt.NDArray[np.float32]:
    """The note's samples (at ``speech.sample_rate``): disclaimer, pause, speech; watermarked."""
    body = np.asarray(speech.audio, dtype=np.float32)
    if disclaimer is not None and disclaimer.size:
        pause = np.zeros(int(PAUSE_S * speech.sample_rate), dtype=np.float32)
        body = np.concatenate([disclaimer, pause, body])
    return watermark.embed(body, speech.sample_rate) if options.watermark else body
