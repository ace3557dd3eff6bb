"""Opus decoding per SSRC, with loss concealment.

Discord sends 48 kHz Opus in 20 ms frames. Each SSRC keeps its own decoder because Opus is stateful. The
decoder is the libopus one discord.py wraps (``discord.opus.Decoder``): it conceals a lost frame (PLC,
``decode(None)``) or rebuilds it from the next packet's in-band FEC. Where libopus cannot be loaded, PyAV's
bundled libopus decodes and lost frames stay silent.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
OPUS_PAYLOAD_TYPE = 120  # the only payload type Discord voice sends audio with

log = logging.getLogger(__name__)


class OpusDecodeError(ValueError):
    """An Opus frame could not be decoded."""


def _codec_name() -> str:
    import av

    return "libopus" if "libopus" in av.codecs_available else "opus"


def _libopus_decoder() -> Any | None:
    """discord.py's libopus decoder (stereo, 48 kHz), or None when libopus is not loadable."""
    try:
        import discord.opus

        if not discord.opus.is_loaded() and not discord.opus._load_default():
            return None
        return discord.opus.Decoder()  # type: ignore[no-untyped-call]
    except Exception:  # no discord extra, or no libopus on the system
        log.info("voice receive: libopus not loadable; lost frames will be silence (no PLC)")
        return None


class OpusDecoder:
    """Decodes one speaker's Opus frames to int16 PCM shaped ``(samples, channels)`` at 48 kHz."""

    def __init__(self, channels: int = 1, *, prefer_libopus: bool = True) -> None:
        if channels not in (1, 2):
            raise ValueError("channels must be 1 or 2")
        self.channels = channels
        self._lib: Any = _libopus_decoder() if prefer_libopus else None
        self._ctx: Any = None
        if self._lib is None:
            import av

            self._av: Any = av
            ctx = av.CodecContext.create(_codec_name(), "r")
            if not isinstance(ctx, av.AudioCodecContext):  # the name is a runtime string: narrow it
                raise OpusDecodeError(f"{_codec_name()} is not an audio decoder")
            ctx.sample_rate = SAMPLE_RATE
            ctx.layout = "mono" if channels == 1 else "stereo"
            ctx.format = "s16"
            self._ctx = ctx

    @property
    def conceals(self) -> bool:
        """Whether lost frames are concealed (libopus PLC/FEC) rather than left silent."""
        return self._lib is not None

    def decode(self, frame: bytes) -> np.ndarray:
        """Decode one Opus frame; raises :class:`OpusDecodeError` on corrupt input."""
        if not frame:
            raise OpusDecodeError("empty Opus frame")
        if self._lib is not None:
            return self._lib_decode(frame, fec=False)
        try:
            decoded = self._ctx.decode(self._av.Packet(frame))
        except self._av.error.FFmpegError as exc:
            raise OpusDecodeError(str(exc)) from exc
        parts = [self._to_int16(f) for f in decoded]
        if not parts:
            return np.zeros((0, self.channels), dtype=np.int16)
        return np.concatenate(parts)

    def conceal(self, next_frame: bytes | None = None, samples: int = FRAME_SAMPLES) -> np.ndarray:
        """One lost frame: rebuilt from ``next_frame``'s in-band FEC when given, else PLC (silence
        without libopus)."""
        if self._lib is None:
            return np.zeros((samples, self.channels), dtype=np.int16)
        if next_frame:
            try:
                return self._lib_decode(next_frame, fec=True)
            except OpusDecodeError:
                pass
        return self._lib_decode(None, fec=False)

    def _lib_decode(self, frame: bytes | None, *, fec: bool) -> np.ndarray:
        try:
            raw = self._lib.decode(frame, fec=fec)
        except Exception as exc:  # discord.opus.OpusError
            raise OpusDecodeError(str(exc)) from exc
        stereo = np.frombuffer(raw, dtype=np.int16).reshape(-1, 2)
        if self.channels == 2:
            return stereo.copy()
        return ((stereo[:, 0].astype(np.int32) + stereo[:, 1]) // 2).astype(np.int16)[:, None]

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
