""" "Listen in voice": a star message → the scam guard → synthesis → an OGG/Opus voice note, cached.

The cache key is (voice profile, engine, marking, text), so a second tap is instant. Every note starts with
a spoken disclaimer, carries a watermark and the AI-generated tag, and gets a signed provenance record
(``core.voice.marking``, ``core.voice.provenance``); its caption says whether the voice is a clone.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from core.domain.identity import Locale
from core.domain.stars import Star
from core.i18n import t
from core.ports import SpeechSynthesizer, VoiceSpec
from core.safety.check import SafetyGuard
from core.safety.verdict import blocked_message
from core.voice.audio import decode_audio, encode_voice_note
from core.voice.marking import MarkingOptions, disclaimer_audio, mark
from core.voice.provenance import ProvenanceLog

log = logging.getLogger(__name__)


class VoiceSpecSource(Protocol):
    """Where a star's voice comes from (``VoiceProfileService``)."""

    async def voice_spec(self, owner_id: str, star_id: str) -> VoiceSpec | None:
        """The star's voice, or ``None`` for the default voice."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SpokenMessage:
    """A ready voice note, or the reason there is none."""

    path: Path | None
    caption: str
    duration_s: float = 0.0
    blocked: bool = False


def _language_of(text: str, fallback: Locale) -> str:
    hangul = sum("\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e" for c in text)
    latin = sum(c.isascii() and c.isalpha() for c in text)
    if hangul or latin:
        return "ko" if hangul >= latin else "en"
    return fallback.value


class VoiceService:
    """Speaks star messages with the configured synthesizer; one cache folder per star."""

    def __init__(
        self,
        synthesizer: SpeechSynthesizer,
        guard: SafetyGuard,
        cache_root: Path,
        *,
        profiles: VoiceSpecSource | None = None,
        marking: MarkingOptions | None = None,
        provenance: ProvenanceLog | None = None,
    ) -> None:
        self.profiles = profiles
        self.marking = marking or MarkingOptions()
        self.provenance = provenance
        self.synthesizer = synthesizer
        self.guard = guard
        self.cache_root = cache_root
        self._locks: dict[str, asyncio.Lock] = {}
        # The spoken disclaimer is the same words every time: synthesized once per language, rate and voice.
        self._disclaimers: dict[tuple[str, int, str], npt.NDArray[np.float32] | None] = {}

    async def _disclaimer(
        self, language: str, sample_rate: int, voice: VoiceSpec | None
    ) -> npt.NDArray[np.float32] | None:
        profile = voice.profile_id if voice is not None and self.synthesizer.clones_voice else ""
        key = (language, sample_rate, profile)
        if key not in self._disclaimers:
            if len(self._disclaimers) > 64:
                self._disclaimers.clear()
            self._disclaimers[key] = await disclaimer_audio(
                self.synthesizer, self.marking, language, sample_rate, voice
            )
        return self._disclaimers[key]

    def star_cache(self, star_id: str) -> Path:
        """The folder of a star's cached voice notes."""
        return self.cache_root / star_id

    def forget(self, star_id: str) -> None:
        """Delete a star's cached audio (part of /forget)."""
        shutil.rmtree(self.star_cache(star_id), ignore_errors=True)

    async def speak(
        self, star: Star, text: str, locale: Locale, voice: VoiceSpec | None = None
    ) -> SpokenMessage:
        """The voice note for ``text`` in the star's voice; blocked content is never synthesized.

        Without an explicit ``voice``, the star's stored voice profile is used when it has one.
        """
        if voice is None and self.profiles is not None:
            voice = await self.profiles.voice_spec(star.owner_id, star.id)
        verdict = await self.guard.check(text, role="speech", locale=locale)
        if verdict.verdict != "allow":
            log.info("speech blocked for star=%s reasons=%s", star.id, ",".join(verdict.reasons))
            return SpokenMessage(
                path=None, caption=blocked_message(locale, role="speech", star=star.name), blocked=True
            )
        language = _language_of(text, locale)
        speaks = self.synthesizer.capabilities.languages
        if not self.synthesizer.capabilities.supports(language):  # said, never spoken in another voice
            log.info("speech refused: %s does not speak %s", self.synthesizer.name, language)
            caption = t(
                locale, "synth.language_unsupported", language=language, languages=", ".join(sorted(speaks))
            )
            return SpokenMessage(path=None, caption=caption)
        label = t(locale, "synth.cloned_voice" if self.synthesizer.clones_voice else "synth.basic_voice")
        profile = voice.profile_id if voice else "default"
        marks = f"{self.marking.disclaimer}:{self.marking.words(language)}:{self.marking.watermark}"
        ident = f"{profile}\x1f{self.synthesizer.name}\x1f{marks}\x1f{text}"
        key = hashlib.sha256(ident.encode()).hexdigest()[:32]
        path = self.star_cache(star.id) / f"{key}.ogg"
        lock = self._locks.setdefault(key, asyncio.Lock())
        duration = 0.0
        async with lock:
            if not path.exists():
                speech = await self.synthesizer.synthesize(text, language=language, voice=voice)
                lead = await self._disclaimer(language, speech.sample_rate, voice)
                samples = await asyncio.to_thread(mark, speech, lead, self.marking)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".part.ogg")
                await asyncio.to_thread(
                    encode_voice_note, samples, speech.sample_rate, tmp, ai_generated=True, title=star.name
                )
                tmp.replace(path)
                if self.provenance is not None:
                    await asyncio.to_thread(self.provenance.record, path, engine=speech.engine)
                duration = len(samples) / speech.sample_rate
            else:
                duration = (await asyncio.to_thread(decode_audio, path)).duration_s
        self._locks.pop(key, None)
        return SpokenMessage(path=path, caption=f"🔊 {star.name} · {label}", duration_s=round(duration, 2))
