"""Qwen3-TTS voice cloning (``qwen-tts``; Apache-2.0 code and weights): the star's voice, Korean and English.

The recommended cloning engine: Alibaba reports Korean WER 1.76 and speaker similarity 0.80 from 3 s of
reference. The model is a local directory or a Hugging Face name, exactly as ``Qwen3TTSModel.from_pretrained``
takes it (``Qwen/Qwen3-TTS-12Hz-1.7B-Base``; the 0.6B base runs on CPU, slowly). The reference is one of the
star's kept clips; its transcript (a voice memory of the same recording) makes the clone closer, and
without one the model clones from the speaker embedding alone (``x_vector_only_mode``).
Everything that touches ``qwen_tts`` and ``torch`` is in :func:`_load_qwen`, the one seam tests replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.backends.cloning import CloningSynthesizer
from core.ports import Audio, EngineUnavailable, SpeechCapabilities, VoiceSpec

DEFAULT_MODEL = "Qwen/Qwen3-TTS-12Hz-1.7B-Base"
LANGUAGES = {"ko": "Korean", "en": "English"}
INSTALL = "pip install qwen-tts (with torch==2.13.0; see the README's voice-cloning section)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Qwen3TTSOptions:
    """``model``: a local directory or a model name; ``device``: None picks CUDA when torch sees one."""

    model: str = DEFAULT_MODEL
    device: str | None = None
    max_chars: int = 2000
    chunk_chars: int = 200
    gap_s: float = 0.12
    timeout_s: float = 600.0


def _looks_local(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or Path(model).expanduser().exists()


def _load_qwen(model: str, device: str | None) -> Any:
    """Load the model: the only code that imports ``qwen_tts``."""
    if _looks_local(model) and not Path(model).expanduser().is_dir():
        raise EngineUnavailable(
            f"Qwen3-TTS model directory {model} does not exist: download it with "
            f"`huggingface-cli download {DEFAULT_MODEL} --local-dir {model}`",
            extra="qwen",
        )
    try:
        import torch
        from qwen_tts import Qwen3TTSModel
    except (ImportError, OSError) as exc:
        raise EngineUnavailable(f"Qwen3-TTS is not installed: {INSTALL} ({exc})", extra="qwen") from exc
    target = device or ("cuda:0" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if target.startswith("cuda") else torch.float32
    try:
        return Qwen3TTSModel.from_pretrained(
            str(Path(model).expanduser()) if _looks_local(model) else model, device_map=target, dtype=dtype
        )
    except OSError as exc:  # no hub access and no local copy
        raise EngineUnavailable(
            f"Qwen3-TTS model {model!r} cannot be loaded ({exc}); without internet, download it once and set "
            f"VOS_TTS__QWEN_MODEL to its directory",
            extra="qwen",
        ) from exc


class Qwen3TTSSynthesizer(CloningSynthesizer):
    """A voice clone from a kept clip of the star's real voice (and its transcript when known)."""

    name = "qwen3-tts"
    capabilities = SpeechCapabilities(languages=frozenset(LANGUAGES), sample_rates=(24000,))
    extra = "qwen"

    def __init__(self, options: Qwen3TTSOptions = Qwen3TTSOptions()) -> None:
        super().__init__(options)
        self.options = options

    def _load(self) -> Any:
        return _load_qwen(self.options.model, self.options.device)

    def _generate(self, model: Any, text: str, language: str, voice: VoiceSpec) -> tuple[Audio, int]:
        wavs, rate = model.generate_voice_clone(
            text=text,
            language=LANGUAGES[language],
            ref_audio=str(voice.reference_clips[0]),
            ref_text=voice.reference_text,
            x_vector_only_mode=not voice.reference_text,
        )
        return np.asarray(wavs[0], dtype=np.float32), int(rate)
