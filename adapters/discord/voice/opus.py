"""Opus decoding per SSRC with PyAV's bundled libopus (no system libopus needed).

Discord sends 48 kHz Opus in 20 ms frames. Each SSRC keeps its own decoder because Opus is stateful.
Lost packets are concealed with silence by the track writer (the gap stays empty on the meeting clock).
"""

from __future__ import annotations

from typing import Any

import numpy as np

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz


class OpusDecodeError(ValueError):
    """An Opus frame could not be decoded."""


def _codec_name() -> str:
    import av

    return "libopus" if "libopus" in av.codecs_available else "opus"


class OpusDecoder:
    """Decodes one speaker's Opus frames to int16 PCM shaped ``(samples, channels)`` at 48 kHz."""

    def __init__(self, channels: int = 1) -> None:
        if channels not in (1, 2):
            raise ValueError("channels must be 1 or 2")
        import av

        self.channels = channels
        self._av: Any = av
        ctx = av.CodecContext.create(_codec_name(), "r")
        if not isinstance(ctx, av.AudioCodecContext):  # the name is a runtime string: narrow it
            raise OpusDecodeError(f"{_codec_name()} is not an audio decoder")
        ctx.sample_rate = SAMPLE_RATE
        ctx.layout = "mono" if channels == 1 else "stereo"
        ctx.format = "s16"
        self._ctx = ctx

    def decode(self, frame: bytes) -> np.ndarray:
        """Decode one Opus frame; raises :class:`OpusDecodeError` on corrupt input."""
        if not frame:
            raise OpusDecodeError("empty Opus frame")
        try:
            decoded = self._ctx.decode(self._av.Packet(frame))
        except self._av.error.FFmpegError as exc:
            raise OpusDecodeError(str(exc)) from exc
        parts = [self._to_int16(f) for f in decoded]
        if not parts:
            return np.zeros((0, self.channels), dtype=np.int16)
        return np.concatenate(parts)

    def _to_int16(self, frame: Any) -> np.ndarray:
        array: np.ndarray = frame.to_ndarray()
        name = frame.format.name
        if name == "s16":  # packed: (1, samples * channels)
            return array.reshape(-1, self.channels)
        if name == "s16p":
            return array.T.copy()
        if name in ("flt", "fltp"):
            data = array.reshape(-1, self.channels) if name == "flt" else array.T
            return np.clip(data * 32767.0, -32768, 32767).astype(np.int16)
        raise OpusDecodeError(f"unexpected decoder sample format {name}")
