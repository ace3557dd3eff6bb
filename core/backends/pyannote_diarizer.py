"""Speaker separation with pyannote.audio 4 (``pyannote/speaker-diarization-community-1``, CC-BY-4.0).

For hosts with a matching torch/torchaudio (pyannote cannot import on CPU-only machines without torchaudio).
The pipeline comes from a local directory or, with a hub token, from the gated hub repository. The library
seam is ``_load_pipeline``; everything after it converts pyannote's ``Annotation`` to a ``Diarization``.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.domain.audio import Diarization, SpeakerTurn
from core.extras import install_hint
from core.ports import Audio, EngineUnavailable, ProgressCallback

DEFAULT_MODEL = "pyannote/speaker-diarization-community-1"


@dataclass(frozen=True, slots=True, kw_only=True)
class PyannoteOptions:
    """Where the pipeline comes from: a local directory (preferred) or a hub name plus token."""

    model: str | Path = DEFAULT_MODEL
    token: str | None = None
    device: str = "cpu"


def _load_pipeline(model: str | Path, token: str | None, device: str) -> Any:
    """Import pyannote and load the pipeline (the one place this module touches the library)."""
    try:
        import torch
        from pyannote.audio import Pipeline
    except Exception as exc:  # torchaudio or a CUDA library failing to load raises more than ImportError
        raise EngineUnavailable(
            f"the pyannote diarizer needs pyannote.audio 4 with a working torch/torchaudio: "
            f"{install_hint('pyannote')} ({type(exc).__name__}: {exc})",
            extra="pyannote",
        ) from exc
    local = Path(model)
    if not local.exists() and token is None and "/" not in str(model):
        raise EngineUnavailable(
            f"pyannote model {model} is neither a local directory nor a hub name", extra="pyannote"
        )
    try:
        pipeline = Pipeline.from_pretrained(str(local) if local.exists() else str(model), token=token)
    except Exception as exc:
        raise EngineUnavailable(
            f"could not load the pyannote pipeline {model}: give a local directory or a hub token "
            f"with access to the gated model ({type(exc).__name__}: {exc})",
            extra="pyannote",
        ) from exc
    if pipeline is None:
        raise EngineUnavailable(f"pyannote returned no pipeline for {model}", extra="pyannote")
    pipeline.to(torch.device(device))
    return pipeline


def annotation_to_diarization(output: Any, *, engine: str = "pyannote") -> Diarization:
    """Convert a pyannote result (``Annotation`` or pyannote 4's output with ``.speaker_diarization``).

    Labels become ``S1``, ``S2``... in order of first appearance, like the offline backend's.
    """
    annotation = getattr(output, "speaker_diarization", output)
    rows = sorted(
        (
            (float(seg.start), float(seg.end), str(label))
            for seg, _, label in annotation.itertracks(yield_label=True)
        ),
        key=lambda r: (r[0], r[1]),
    )
    names: dict[str, str] = {}
    for _, _, label in rows:
        names.setdefault(label, f"S{len(names) + 1}")
    embeddings: dict[str, tuple[float, ...]] = {}
    vectors = getattr(output, "speaker_embeddings", None)
    if vectors is not None and hasattr(annotation, "labels"):
        for i, label in enumerate(annotation.labels()):
            if str(label) in names and i < len(vectors):
                vec = np.asarray(vectors[i], dtype=np.float64)
                embeddings[names[str(label)]] = tuple(float(v) for v in vec / (np.linalg.norm(vec) or 1.0))
    return Diarization(
        turns=tuple(
            SpeakerTurn(start=round(s, 3), end=round(e, 3), speaker=names[lab]) for s, e, lab in rows if e > s
        ),
        embeddings=embeddings,
        engine=engine,
        raw=output,
    )


class PyannoteDiarizer:
    """``Diarizer`` over pyannote.audio 4; the pipeline loads once, lazily, and ``close()`` frees it."""

    name = "pyannote"

    def __init__(self, options: PyannoteOptions | None = None) -> None:
        self.options = options or PyannoteOptions()
        self._pipeline: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._pipeline is None:
                opts = self.options
                self._pipeline = _load_pipeline(opts.model, opts.token, opts.device)
            return self._pipeline

    def _run(self, audio: Audio, sample_rate: int, num_speakers: int | None) -> Diarization:
        import torch

        pipeline = self._get()
        waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32).reshape(1, -1))
        kwargs = {"num_speakers": num_speakers} if num_speakers else {}
        output = pipeline({"waveform": waveform, "sample_rate": sample_rate}, **kwargs)
        return annotation_to_diarization(output, engine=self.name)

    async def diarize(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Diarization:
        """Run the pipeline in a thread on in-memory audio."""
        await _report(progress, 0.0, "diarize")
        result = await asyncio.to_thread(self._run, audio, sample_rate, num_speakers)
        await _report(progress, 1.0, "done")
        return result

    def close(self) -> None:
        """Free the pipeline; the next call loads it again."""
        with self._lock:
            self._pipeline = None


async def _report(progress: ProgressCallback | None, fraction: float, word: str) -> None:
    if progress is not None:
        result = progress(fraction, word)
        if inspect.isawaitable(result):
            await result
