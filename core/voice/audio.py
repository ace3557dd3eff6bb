"""Audio in and out over PyAV (its wheel bundles FFmpeg with libopus; no system ffmpeg needed).

``decode_audio`` turns whatever users send (OGG/Opus voice notes, M4A/AAC, MP3, WAV, FLAC, WebM, the audio
track of an MP4) into 16 kHz mono float32, streaming: frames are resampled one at a time into a single
growing buffer, and decoding stops as soon as the recording passes ``max_seconds``. ``save_samples`` and
``load_samples`` keep decoded samples on disk, so a flow that needs them again later does not decode twice.
``encode_voice_note`` writes the OGG/Opus 48 kHz mono voice notes messengers play inline, tagged as
AI-generated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

from core.domain.identity import Locale
from core.i18n import t
from core.ports import Audio

SAMPLE_RATE: Final = 16000
"""The rate ``decode_audio`` gives by default, the one separation and voice profiles work at."""
DEFAULT_MAX_SECONDS: Final = 2 * 3600.0
SILENCE_RMS: Final = 10 ** (-60 / 20)
"""Below -60 dBFS RMS a recording holds nothing worth separating or transcribing."""

AI_TAG: Final = "AI_GENERATED"
AI_COMMENT: Final = "AI-generated (VOS)"

AudioFormat = Literal["wav", "flac", "mp3", "m4a", "ogg", "webm", "mp4"]


@dataclass(frozen=True, slots=True)
class _Codec:
    container: str
    codec: str
    rate: int | None  # None keeps the input rate
    bitrate: int | None = None


_CODECS: Final[dict[str, _Codec]] = {
    "wav": _Codec("wav", "pcm_s16le", None),
    "flac": _Codec("flac", "flac", None),
    "mp3": _Codec("mp3", "libmp3lame", 44100, 64_000),
    "m4a": _Codec("ipod", "aac", 44100, 64_000),
    "mp4": _Codec("mp4", "aac", 44100, 64_000),
    "ogg": _Codec("ogg", "libopus", 48000, 32_000),
    "webm": _Codec("webm", "libopus", 48000, 32_000),
}

# Leading bytes of the containers we accept: a file that starts like one of these but fails to decode is
# broken; anything else that FFmpeg cannot read is not audio at all.
_AUDIO_MAGIC: Final = (b"OggS", b"RIFF", b"fLaC", b"ID3", b"\x1a\x45\xdf\xa3", b"\xff\xfb", b"\xff\xf3")


class AudioError(Exception):
    """A recording cannot be used; ``key`` is an i18n key under ``voice.audio``, ``fields`` fill it."""

    def __init__(self, key: str, detail: str = "", **fields: object) -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key
        self.detail = detail
        self.fields = fields

    def message(self, locale: Locale | str) -> str:
        """The user-facing explanation in ``locale``."""
        return t(locale, self.key, **self.fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedAudio:
    """Mono float32 samples at ``sample_rate`` and where they came from."""

    samples: Audio
    sample_rate: int
    duration_s: float
    source_format: str


def _looks_like_audio_container(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(12)
    return head.startswith(_AUDIO_MAGIC) or head[4:8] == b"ftyp"


def _too_long(max_seconds: float) -> AudioError:
    return AudioError("voice.audio.too_long", f"> {max_seconds:.0f} s", minutes=round(max_seconds / 60))


class _Buffer:
    """One float32 buffer that grows geometrically, so a long file is held in one copy (plus slack)."""

    def __init__(self, capacity: int) -> None:
        self.data = np.empty(max(capacity, 16000), dtype=np.float32)
        self.size = 0
        self.sum_sq = 0.0

    def append(self, chunk: Audio) -> None:
        end = self.size + chunk.size
        if end > self.data.size:
            self.data = np.resize(self.data, max(end, int(self.data.size * 1.5)))
        self.data[self.size : end] = chunk
        self.size = end
        self.sum_sq += float(np.dot(chunk, chunk))

    def samples(self) -> Audio:
        # Hand back a view when the buffer is nearly full; copy only when it would waste a lot of memory.
        view = self.data[: self.size]
        return view if self.size >= 0.9 * self.data.size else view.copy()


def decode_audio(
    path: Path | str,
    *,
    sample_rate: int = SAMPLE_RATE,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    silence_rms: float = SILENCE_RMS,
) -> DecodedAudio:
    """Decode the first audio stream of ``path`` to mono float32 at ``sample_rate``.

    Raises ``AudioError`` for a missing or empty file, a file that is not audio, a broken one, one longer
    than ``max_seconds`` (checked from the header first, then while decoding) or one that is silent.
    """
    import av

    src = Path(path)
    if not src.is_file() or src.stat().st_size == 0:
        raise AudioError("voice.audio.empty", str(src))
    try:
        container = av.open(str(src), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        key = "voice.audio.broken" if _looks_like_audio_container(src) else "voice.audio.not_audio"
        raise AudioError(key, str(exc)) from exc
    with container:
        if not container.streams.audio:
            raise AudioError("voice.audio.not_audio", f"no audio stream in {container.format.name}")
        stream = container.streams.audio[0]
        header_s = container.duration / 1_000_000 if container.duration else 0.0
        if header_s > max_seconds + 1.0:
            raise _too_long(max_seconds)
        limit = int(max_seconds * sample_rate)
        buf = _Buffer(min(int((header_s + 1.0) * sample_rate), limit + sample_rate))
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        buf.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
                    if buf.size > limit:
                        raise _too_long(max_seconds)
            for out in resampler.resample(None):
                buf.append(np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1))
        except av.error.FFmpegError as exc:
            # A cut-off upload still yields what came before the damage; nothing at all means broken.
            if buf.size == 0:
                raise AudioError("voice.audio.broken", str(exc)) from exc
        source_format = f"{container.format.name}/{stream.codec_context.name}"
    if buf.size == 0:
        raise AudioError("voice.audio.empty", "no samples decoded")
    if buf.size > limit:
        raise _too_long(max_seconds)
    if (buf.sum_sq / buf.size) ** 0.5 < silence_rms:
        raise AudioError("voice.audio.silent", f"rms below {silence_rms:g}")
    return DecodedAudio(
        samples=buf.samples(),
        sample_rate=sample_rate,
        duration_s=buf.size / sample_rate,
        source_format=source_format,
    )


def save_samples(samples: Audio, path: Path) -> Path:
    """Keep decoded mono samples as a float32 ``.npy`` file (written aside, then renamed: never half one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.part")
    try:
        with part.open("wb") as fh:
            np.save(fh, np.asarray(samples, dtype=np.float32).reshape(-1), allow_pickle=False)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return path


def load_samples(path: Path, *, expected_size: int | None = None) -> Audio | None:
    """Samples kept by ``save_samples``; ``None`` when the file is missing, damaged or of another length."""
    try:
        with path.open("rb") as fh:
            samples = np.load(fh, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(samples, np.ndarray) or samples.dtype != np.float32 or samples.ndim != 1:
        return None
    if expected_size is not None and samples.size != expected_size:
        return None
    return samples


def encode_audio(
    samples: Audio,
    sample_rate: int,
    path: Path | str,
    fmt: AudioFormat | str | None = None,
    *,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Encode mono float32 ``samples`` to ``path``; ``fmt`` defaults to the file's extension."""
    import av

    dst = Path(path)
    name = (fmt or dst.suffix.lstrip(".")).lower()
    spec = _CODECS.get("ogg" if name == "opus" else name)
    if spec is None:
        raise AudioError("voice.audio.unsupported_format", name, format=name)
    clipped = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(dst), mode="w", format=spec.container) as container:
        for key, value in (metadata or {}).items():
            container.metadata[key] = value
        stream: Any = container.add_stream(spec.codec, rate=spec.rate or sample_rate)
        stream.layout = "mono"
        if spec.bitrate:
            stream.bit_rate = spec.bitrate
        # Feed one-second frames; PyAV resamples and re-frames them to what the encoder wants.
        step = sample_rate
        pts = 0
        for start in range(0, clipped.size, step):
            chunk = clipped[start : start + step]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = pts
            pts += chunk.size
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return dst


def encode_voice_note(
    samples: Audio,
    sample_rate: int,
    path: Path | str,
    *,
    ai_generated: bool = True,
    title: str | None = None,
) -> Path:
    """Write an OGG/Opus 48 kHz mono voice note; synthetic speech is tagged as AI-generated.

    The tags (``comment``, ``description`` and ``AI_GENERATED=1``) are the machine-readable marking the EU
    AI Act (Art. 50) and the Korean AI Basic Act ask of synthetic audio.
    """
    metadata: dict[str, str] = {}
    if title:
        metadata["title"] = title
    if ai_generated:
        metadata.update({"comment": AI_COMMENT, "description": AI_COMMENT, AI_TAG: "1"})
    return encode_audio(samples, sample_rate, path, "ogg", metadata=metadata)


def read_tags(path: Path | str) -> dict[str, str]:
    """The metadata tags of a file (container and first audio stream merged, keys lower-cased)."""
    import av

    with av.open(str(path)) as container:
        tags = {k.lower(): v for k, v in container.metadata.items()}
        if container.streams.audio:
            tags.update({k.lower(): v for k, v in container.streams.audio[0].metadata.items()})
    return tags


def is_ai_generated(path: Path | str) -> bool:
    """Whether the file carries VOS's AI-generated marking."""
    return read_tags(path).get(AI_TAG.lower()) == "1"
