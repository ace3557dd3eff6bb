"""What the voice-cloning backends share: the model loaded once, the text cut into chunks the model reads
well, every chunk spoken in the kept voice off the event loop under one timeout, joined with short pauses.

A backend subclasses :class:`CloningSynthesizer` and gives ``_load`` (its one seam that imports the engine)
and ``_generate`` (one chunk in, samples and their rate out).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Protocol

import numpy as np

from core.ports import (
    Audio,
    EngineUnavailable,
    SpeechCapabilities,
    SynthesizedSpeech,
    VoiceSpec,
    language_code,
)
from core.voice.text_split import check_length, split_text


class CloningOptions(Protocol):
    """What every cloning backend's options say about chunking and time."""

    @property
    def max_chars(self) -> int: ...
    @property
    def chunk_chars(self) -> int: ...
    @property
    def gap_s(self) -> float: ...
    @property
    def timeout_s(self) -> float: ...


class CloningSynthesizer:
    """A ``SpeechSynthesizer`` that speaks in a star's kept voice (reference clips from ``/voice``)."""

    name = "clone"
    capabilities = SpeechCapabilities(languages=frozenset({"ko", "en"}), sample_rates=(24000,))
    clones_voice = True
    extra = "voice"

    def __init__(self, options: CloningOptions) -> None:
        self.max_chars = options.max_chars
        self.chunk_chars = options.chunk_chars
        self.gap_s = options.gap_s
        self.timeout_s = options.timeout_s
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        raise NotImplementedError

    def _generate(self, model: Any, text: str, language: str, voice: VoiceSpec) -> tuple[Audio, int]:
        raise NotImplementedError

    def _ensure_model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    async def load(self) -> None:
        """Load the weights now (off the event loop) instead of on the first note."""
        await asyncio.to_thread(self._ensure_model)

    async def synthesize(
        self, text: str, *, language: str, voice: VoiceSpec | None = None
    ) -> SynthesizedSpeech:
        """Speak ``text`` in the star's cloned voice; needs a kept voice (``/voice``)."""
        if not self.capabilities.supports(language):  # never another language's voice in its place
            raise ValueError(f"{self.name} speaks {sorted(self.capabilities.languages)}, not {language!r}")
        lang = language_code(language)
        if voice is None or not voice.reference_clips:
            raise EngineUnavailable(
                f"{self.name} clones a voice: keep the star's voice with /voice first", extra=self.extra
            )
        chunks = split_text(check_length(text, self.max_chars), self.chunk_chars)
        audio, rate = await asyncio.wait_for(
            asyncio.to_thread(self._speak_blocking, chunks, lang, voice), self.timeout_s
        )
        return SynthesizedSpeech(audio=audio, sample_rate=rate, engine=self.name, is_clone=True)

    def _speak_blocking(self, chunks: list[str], language: str, voice: VoiceSpec) -> tuple[Audio, int]:
        model = self._ensure_model()
        parts: list[np.ndarray[Any, Any]] = []
        rate = 24000
        for chunk in chunks:
            samples, rate = self._generate(model, chunk, language, voice)
            parts += [
                np.asarray(samples, dtype=np.float32).reshape(-1),
                np.zeros(int(self.gap_s * rate), np.float32),
            ]
        return (np.concatenate(parts[:-1]) if parts else np.zeros(0, np.float32)), int(rate)

    def close(self) -> None:
        """Drop the model."""
        with self._lock:
            self._model = None
