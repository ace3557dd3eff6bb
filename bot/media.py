"""One-shot audio commands of the CLI: ``vos voice separate`` and ``vos transcribe``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings
from core.ports import Diarizer, EngineUnavailable, SpeechToText
from core.voice.audio import decode_audio


def build_diarizer(settings: Settings) -> Diarizer:
    """The configured speaker-separation backend."""
    if settings.diarizer.backend == "pyannote":
        from core.backends.pyannote_diarizer import PyannoteDiarizer, PyannoteOptions

        token = settings.diarizer.hf_token.get_secret_value() if settings.diarizer.hf_token else None
        return PyannoteDiarizer(PyannoteOptions(model=settings.diarizer.pyannote_model, token=token))
    from core.backends.resemblyzer_diarizer import ResemblyzerDiarizer

    return ResemblyzerDiarizer()


def build_stt(settings: Settings, language: str | None = None) -> SpeechToText:
    """The configured speech-to-text backend."""
    from core.backends.faster_whisper_stt import FasterWhisperOptions, FasterWhisperSTT
    from core.speech.models import check_model_path

    stt = settings.stt
    check_model_path(stt.model)  # a mistyped directory is a clear line now, not at the first recording
    return FasterWhisperSTT(
        FasterWhisperOptions(
            model=stt.model,
            device=stt.device,
            compute_type=stt.compute_type,
            language=language or stt.language,
            cache_dir=settings.data_dir / "models",
        )
    )


class _Progress:
    """A progress line on stderr, ended with a newline however the work ends (errors get their own line)."""

    def __init__(self) -> None:
        self.shown = False

    async def __call__(self, fraction: float, status: str) -> None:
        self.shown = True
        sys.stderr.write(f"\r{status} {fraction * 100:5.1f}%")
        sys.stderr.flush()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.shown:
            sys.stderr.write("\n")


async def separate_file(settings: Settings, path: Path, speakers: int | None) -> dict[str, Any]:
    """Who spoke when in ``path``: the ``vos voice separate --json`` contract."""
    from core.voice.separation import separate

    decoded = decode_audio(path, max_seconds=settings.limits.max_audio_seconds)
    with _Progress() as progress:
        result = await separate(
            decoded.samples, decoded.sample_rate, build_diarizer(settings), speakers, progress
        )
    return result.result_json()


async def transcribe_file(
    settings: Settings, path: Path, language: str | None, speakers: int | None
) -> dict[str, Any]:
    """Segments with speakers: the ``vos transcribe --json`` contract."""
    from core.speech.transcription import TranscriptionService

    decoded = decode_audio(path, max_seconds=settings.limits.max_audio_seconds)
    diarization = None
    if speakers != 1:
        try:
            diarizer = build_diarizer(settings)
            diarization = await diarizer.diarize(
                decoded.samples, sample_rate=decoded.sample_rate, num_speakers=speakers
            )
        except EngineUnavailable as exc:
            sys.stderr.write(f"vos: speakers not separated ({exc})\n")
    service = TranscriptionService(build_stt(settings, language))
    with _Progress() as progress:
        transcript = await service.transcribe_mixed(
            decoded.samples,
            sample_rate=decoded.sample_rate,
            language=language,
            diarization=diarization,
            progress=progress,
        )
    return {
        "language": transcript.language,
        "duration": round(transcript.duration_s, 3),
        "segments": [
            {"start": round(s.start, 3), "end": round(s.end, 3), "speaker": s.speaker, "text": s.text}
            for s in transcript.segments
        ],
    }
