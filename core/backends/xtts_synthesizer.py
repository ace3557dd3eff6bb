"""Coqui XTTS-v2 speech synthesizer (``coqui-tts``): a real voice clone, Korean and English.

Licence: the XTTS-v2 weights are under the Coqui Public Model License (CPML), non-commercial use only, so
this backend refuses to start until the operator acknowledges it (``accept_cpml``). The model loads from a
local directory; everything that touches the ``TTS`` package is in :func:`_load_xtts`, the one seam tests
replace. Conditioning latents are computed once per voice profile and its clips, kept in a small in-memory
LRU and optionally on disk; :meth:`XTTSSynthesizer.forget` removes them when a star's voice is deleted.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.extras import install_hint
from core.ports import (
    Audio,
    EngineUnavailable,
    SpeechCapabilities,
    SynthesizedSpeech,
    VoiceSpec,
    language_code,
)
from core.voice.text_split import check_length, split_text

XTTS_SAMPLE_RATE = 24000
# Per-language input limits of XTTS-v2's tokenizer (coqui-tts, TTS/tts/layers/xtts/tokenizer.py,
# VoiceBpeTokenizer.char_limits): past them XTTS warns and may truncate the audio.
XTTS_CHAR_LIMITS = {"en": 250, "ko": 95}
_MODEL_FILES = ("config.json", "model.pth", "vocab.json")
CPML_URL = "https://coqui.ai/cpml"


class CpmlNotAccepted(EngineUnavailable):
    """The operator has not acknowledged the XTTS-v2 weights' non-commercial licence."""


@dataclass(frozen=True, slots=True, kw_only=True)
class XTTSOptions:
    """Where the model is, on what device, and how latents are cached."""

    model_dir: Path | None = None
    accept_cpml: bool = False
    device: str | None = None  # None: "cuda" when torch sees a GPU, else "cpu"
    latent_cache_dir: Path | None = None
    latent_cache_size: int = 16
    max_chars: int = 2000
    gap_s: float = 0.15
    temperature: float = 0.7
    timeout_s: float = 600.0


def _load_xtts(model_dir: Path, device: str) -> Any:
    """Load XTTS-v2 from ``model_dir`` onto ``device``: the only code that imports ``TTS``."""
    try:
        from TTS.tts.configs.xtts_config import XttsConfig
        from TTS.tts.models.xtts import Xtts
    except (ImportError, OSError) as exc:  # OSError: torchaudio's native libraries missing
        raise EngineUnavailable(
            f"XTTS needs the coqui-tts package with torch and torchaudio: {install_hint('xtts')} ({exc})",
            extra="xtts",
        ) from exc
    config = XttsConfig()
    config.load_json(str(model_dir / "config.json"))
    model = Xtts.init_from_config(config)
    model.load_checkpoint(config, checkpoint_dir=str(model_dir), use_deepspeed=False)
    model.to(device)
    model.eval()
    return model


def _default_device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _to_numpy(value: Any) -> np.ndarray[Any, Any]:
    if hasattr(value, "detach"):
        value = value.detach().cpu().float().numpy()
    return np.asarray(value)


def _from_numpy(array: np.ndarray[Any, Any], device: str) -> Any:
    try:
        import torch
    except ImportError:
        return array
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _profile_prefix(profile_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", profile_id)[:48]
    return f"{safe}-{hashlib.sha256(profile_id.encode()).hexdigest()[:8]}"


class XTTSSynthesizer:
    """Speaks in the star's cloned voice with XTTS-v2 (non-commercial licence, see module docstring)."""

    name = "xtts"
    capabilities = SpeechCapabilities(languages=frozenset(XTTS_CHAR_LIMITS), sample_rates=(XTTS_SAMPLE_RATE,))
    clones_voice = True
    label_key = "synth.cloned_voice"

    def __init__(self, options: XTTSOptions) -> None:
        if not options.accept_cpml:
            raise CpmlNotAccepted(
                "The XTTS-v2 weights are licensed under the Coqui Public Model License "
                f"({CPML_URL}): non-commercial use only. To use them, acknowledge the licence by setting "
                "the option accept_cpml=True (setting VOS_TTS__XTTS_ACCEPT_CPML=true); otherwise choose "
                "the 'espeak' synthesizer."
            )
        model_dir = options.model_dir
        if model_dir is None or not model_dir.is_dir():
            raise EngineUnavailable(
                f"XTTS model directory not found: {model_dir}. Put the XTTS-v2 files "
                f"({', '.join(_MODEL_FILES)}) in a local directory and set the xtts model_dir to it."
            )
        missing = [name for name in _MODEL_FILES if not (model_dir / name).is_file()]
        if missing:
            raise EngineUnavailable(f"XTTS model directory {model_dir} lacks {', '.join(missing)}")
        self.options = options
        self._model: Any = None
        self._device = options.device
        self._lock = threading.Lock()  # the model: one load, one synthesis at a time
        self._cache_lock = threading.Lock()  # the latent LRU, short holds only (forget() must not wait)
        self._latents: OrderedDict[str, tuple[Any, Any]] = OrderedDict()

    @property
    def device(self) -> str | None:
        """The device the model runs on, once known."""
        return self._device

    async def load(self) -> None:
        """Load the model now (otherwise the first synthesis does), so start-up reports problems early."""
        await asyncio.to_thread(self._ensure_model)

    async def synthesize(
        self, text: str, *, language: str, voice: VoiceSpec | None = None
    ) -> SynthesizedSpeech:
        """Speak ``text`` in the voice of ``voice.reference_clips``."""
        lang = language_code(language)
        if not self.capabilities.supports(lang):
            raise ValueError(f"XTTS backend speaks {sorted(self.capabilities.languages)}, not {language!r}")
        if voice is None or not voice.reference_clips:
            raise ValueError("XTTS clones a voice: the voice profile needs reference clips")
        chunks = split_text(check_length(text, self.options.max_chars), XTTS_CHAR_LIMITS[lang])
        if not chunks:
            raise ValueError("nothing to speak: the text is empty")
        audio = await asyncio.wait_for(
            asyncio.to_thread(self._speak_blocking, chunks, lang, voice), self.options.timeout_s
        )
        return SynthesizedSpeech(audio=audio, sample_rate=XTTS_SAMPLE_RATE, engine=self.name, is_clone=True)

    def _ensure_model(self) -> Any:
        with self._lock:
            if self._model is None:
                assert self.options.model_dir is not None  # checked in __init__
                self._device = self._device or _default_device()
                self._model = _load_xtts(self.options.model_dir, self._device)
            return self._model

    def _speak_blocking(self, chunks: list[str], language: str, voice: VoiceSpec) -> Audio:
        model = self._ensure_model()
        # One synthesis at a time: the model is not thread-safe and holds the GPU.
        with self._lock:
            gpt_cond_latent, speaker_embedding = self._conditioning(model, voice)
            gap = np.zeros(round(self.options.gap_s * XTTS_SAMPLE_RATE), dtype=np.float32)
            parts: list[Audio] = []
            for chunk in chunks:
                out = model.inference(
                    chunk,
                    language,
                    gpt_cond_latent,
                    speaker_embedding,
                    temperature=self.options.temperature,
                    enable_text_splitting=False,
                )
                if parts:
                    parts.append(gap)
                parts.append(_to_numpy(out["wav"]).astype(np.float32).reshape(-1))
        return np.concatenate(parts).astype(np.float32)

    def _cache_key(self, voice: VoiceSpec) -> str:
        digests = []
        for clip in voice.reference_clips:
            if not clip.is_file():
                raise ValueError(f"reference clip not found: {clip}")
            digests.append(_file_digest(clip))
        clips = hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]
        return f"{_profile_prefix(voice.profile_id)}-{clips}"

    def _conditioning(self, model: Any, voice: VoiceSpec) -> tuple[Any, Any]:
        """Latents for this profile and these clips: memory, then disk, then computed (and stored)."""
        key = self._cache_key(voice)
        with self._cache_lock:
            if key in self._latents:
                self._latents.move_to_end(key)
                return self._latents[key]
        latents = self._read_disk(key)
        if latents is None:
            config = getattr(model, "config", None)
            extra = {
                name: getattr(config, attr)
                for name, attr in (
                    ("gpt_cond_len", "gpt_cond_len"),
                    ("gpt_cond_chunk_len", "gpt_cond_chunk_len"),
                    ("max_ref_length", "max_ref_len"),
                    ("sound_norm_refs", "sound_norm_refs"),
                )
                if hasattr(config, attr)
            }
            latents = model.get_conditioning_latents(
                audio_path=[str(p) for p in voice.reference_clips], **extra
            )
            self._write_disk(key, latents)
        with self._cache_lock:
            self._latents[key] = latents
            while len(self._latents) > max(1, self.options.latent_cache_size):
                self._latents.popitem(last=False)
        return latents

    def _read_disk(self, key: str) -> tuple[Any, Any] | None:
        if self.options.latent_cache_dir is None:
            return None
        path = self.options.latent_cache_dir / f"{key}.npz"
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                gpt, spk = data["gpt_cond_latent"], data["speaker_embedding"]
        except (OSError, KeyError, ValueError):
            return None  # a damaged cache file is recomputed, not fatal
        device = self._device or "cpu"
        return _from_numpy(gpt, device), _from_numpy(spk, device)

    def _write_disk(self, key: str, latents: tuple[Any, Any]) -> None:
        cache_dir = self.options.latent_cache_dir
        if cache_dir is None:
            return
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".{key}.{os.getpid()}.tmp.npz"
        np.savez(tmp, gpt_cond_latent=_to_numpy(latents[0]), speaker_embedding=_to_numpy(latents[1]))
        os.replace(tmp, cache_dir / f"{key}.npz")

    def forget(self, profile_id: str) -> int:
        """Drop every cached latent of ``profile_id`` (memory and disk); returns the files deleted."""
        prefix = _profile_prefix(profile_id)
        with self._cache_lock:
            for key in [k for k in self._latents if k.startswith(prefix + "-")]:
                del self._latents[key]
        deleted = 0
        cache_dir = self.options.latent_cache_dir
        if cache_dir is not None and cache_dir.is_dir():
            for path in cache_dir.glob(f"{prefix}-*.npz"):
                path.unlink(missing_ok=True)
                deleted += 1
        return deleted

    async def aclose(self) -> None:
        """Free the model and the cached latents (waits for a running synthesis to finish)."""
        await asyncio.to_thread(self._release)

    def _release(self) -> None:
        with self._lock, self._cache_lock:
            self._model = None
            self._latents.clear()
        if self._device and self._device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()
