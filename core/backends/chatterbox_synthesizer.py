"""Chatterbox Multilingual voice cloning (``chatterbox-tts``; MIT, 23 languages including Korean).

Its output also carries Resemble's own PerTh watermark, beside VOS's. The model loads from a local directory
(``ChatterboxMultilingualTTS.from_local``) or, with internet, from its published name
(``from_pretrained``). Everything that touches ``chatterbox`` and ``torch`` is in :func:`_load_chatterbox`,
the one seam tests replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.backends.cloning import CloningSynthesizer
from core.ports import Audio, EngineUnavailable, SpeechCapabilities, VoiceSpec

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


class ChatterboxSynthesizer(CloningSynthesizer):
    """A voice clone from a kept clip of the star's real voice."""

    name = "chatterbox-multilingual"
    capabilities = SpeechCapabilities(languages=LANGUAGES, sample_rates=(24000,))
    extra = "chatterbox"

    def __init__(self, options: ChatterboxOptions = ChatterboxOptions()) -> None:
        super().__init__(options)
        self.options = options

    def _load(self) -> Any:
        return _load_chatterbox(self.options.model_dir, self.options.device)

    def _generate(self, model: Any, text: str, language: str, voice: VoiceSpec) -> tuple[Audio, int]:
        wav = model.generate(text, language_id=language, audio_prompt_path=str(voice.reference_clips[0]))
        samples = wav.detach().cpu().numpy() if hasattr(wav, "detach") else np.asarray(wav)
        return samples, int(getattr(model, "sr", 24000))
