"""Chatterbox Multilingual voice cloning (``chatterbox-tts``; MIT, 23 languages including Korean).

Its output also carries Resemble's own PerTh watermark, beside VOS's. The model loads from a local directory
(``ChatterboxMultilingualTTS.from_local``) or, with internet, from its published name
(``from_pretrained``). Everything that touches ``chatterbox`` and ``torch`` is in :func:`_load_chatterbox`,
the one seam tests replace.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.ports import Audio, EngineUnavailable, SynthesizedSpeech, VoiceSpec
from core.voice.text_split import check_length, split_text

LANGUAGES = frozenset({"ko", "en"})
INSTALL = "pip install chatterbox-tts (with torch==2.13.0; see the README's voice-cloning section)"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatterboxOptions:
    """``model_dir``: a local checkpoint directory (None: download by name, which needs internet)."""

    model_dir: Path | None = None
    device: str | None = None
    max_chars: int = 2000
    chunk_chars: int = 250
    gap_s: float = 0.12
    timeout_s: float = 600.0


def _load_chatterbox(model_dir: Path | None, device: str | None) -> Any:
    """Load the model: the only code that imports ``chatterbox``."""
    if model_dir is not None and not model_dir.is_dir():
        raise EngineUnavailable(
            f"Chatterbox model directory {model_dir} does not exist: download ResembleAI/chatterbox into it "
            f"(`huggingface-cli download ResembleAI/chatterbox --local-dir {model_dir}`)",
            extra="chatterbox",
        )
    try:
        import torch
        from chatterbox.mtl_tts import ChatterboxMultilingualTTS
    except (ImportError, OSError) as exc:
        raise EngineUnavailable(
            f"Chatterbox is not installed: {INSTALL} ({exc})", extra="chatterbox"
        ) from exc
    target = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        if model_dir is not None:
            return ChatterboxMultilingualTTS.from_local(str(model_dir), target)
        return ChatterboxMultilingualTTS.from_pretrained(device=target)
    except OSError as exc:
        raise EngineUnavailable(
            f"Chatterbox cannot load its weights ({exc}); without internet, download them once and set "
            "VOS_TTS__CHATTERBOX_MODEL_DIR",
            extra="chatterbox",
        ) from exc


class ChatterboxSynthesizer:
    """A voice clone from a kept clip of the star's real voice."""

    name = "chatterbox-multilingual"
    languages = LANGUAGES
    clones_voice = True

    def __init__(self, options: ChatterboxOptions = ChatterboxOptions()) -> None:
        self.options = options
        self._model: Any = None
        self._lock = threading.Lock()

    def _ensure_model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = _load_chatterbox(self.options.model_dir, self.options.device)
            return self._model

    async def synthesize(
        self, text: str, *, language: str, voice: VoiceSpec | None = None
    ) -> SynthesizedSpeech:
        """Speak ``text`` in the star's cloned voice; needs a kept voice (``/voice``)."""
        lang = language if language in LANGUAGES else "en"
        if voice is None or not voice.reference_clips:
            raise EngineUnavailable(
                "Chatterbox clones a voice: keep the star's voice with /voice first", extra="chatterbox"
            )
        chunks = split_text(check_length(text, self.options.max_chars), self.options.chunk_chars)
        audio, rate = await asyncio.wait_for(
            asyncio.to_thread(self._speak_blocking, chunks, lang, voice), self.options.timeout_s
        )
        return SynthesizedSpeech(audio=audio, sample_rate=rate, engine=self.name, is_clone=True)

    def _speak_blocking(self, chunks: list[str], language: str, voice: VoiceSpec) -> tuple[Audio, int]:
        model = self._ensure_model()
        rate = int(getattr(model, "sr", 24000))
        parts: list[np.ndarray[Any, Any]] = []
        for chunk in chunks:
            wav = model.generate(chunk, language_id=language, audio_prompt_path=str(voice.reference_clips[0]))
            samples = wav.detach().cpu().numpy() if hasattr(wav, "detach") else np.asarray(wav)
            parts += [
                samples.astype(np.float32).reshape(-1),
                np.zeros(int(self.options.gap_s * rate), np.float32),
            ]
        return np.concatenate(parts[:-1]) if parts else np.zeros(0, np.float32), rate

    def close(self) -> None:
        """Drop the model."""
        with self._lock:
            self._model = None
