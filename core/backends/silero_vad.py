"""Voice activity detection: faster-whisper's bundled Silero ONNX model, webrtcvad when it is absent.

Neither needs torch or a model download: Silero ships inside the ``faster-whisper`` wheel, webrtcvad is a
small C extension (``webrtcvad-wheels``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.ports import Audio, EngineUnavailable

VAD_SAMPLE_RATE = 16000


@dataclass(frozen=True, slots=True, kw_only=True)
class SileroVadOptions:
    """Speech detection thresholds; the silence gap is short so that turn-taking splits regions."""

    threshold: float = 0.5
    min_speech_s: float = 0.25
    min_silence_s: float = 0.25
    speech_pad_s: float = 0.05
    webrtc_mode: int = 2


class SileroVad:
    """Finds speech regions (start and end sample) in 16 kHz mono audio."""

    name = "silero"

    def __init__(self, options: SileroVadOptions | None = None) -> None:
        self.options = options or SileroVadOptions()

    def regions(self, audio: Audio) -> list[tuple[int, int]]:
        """Speech regions as ``(start, end)`` sample indices at 16 kHz, in order, not overlapping."""
        try:
            from faster_whisper.vad import VadOptions, get_speech_timestamps
        except ImportError:
            return self._webrtc_regions(audio)
        opts = self.options
        stamps = get_speech_timestamps(
            np.ascontiguousarray(audio, dtype=np.float32),
            VadOptions(
                threshold=opts.threshold,
                min_speech_duration_ms=int(opts.min_speech_s * 1000),
                min_silence_duration_ms=int(opts.min_silence_s * 1000),
                speech_pad_ms=int(opts.speech_pad_s * 1000),
            ),
            sampling_rate=VAD_SAMPLE_RATE,
        )
        return [(int(s["start"]), int(s["end"])) for s in stamps]

    def _webrtc_regions(self, audio: Audio) -> list[tuple[int, int]]:
        try:
            import webrtcvad
        except ImportError as exc:
            raise EngineUnavailable(
                "voice activity detection needs faster-whisper or webrtcvad-wheels", extra="voice"
            ) from exc
        opts = self.options
        frame = VAD_SAMPLE_RATE * 30 // 1000
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
        vad = webrtcvad.Vad(opts.webrtc_mode)
        n = pcm.size // frame
        flags = np.array(
            [vad.is_speech(pcm[i * frame : (i + 1) * frame].tobytes(), VAD_SAMPLE_RATE) for i in range(n)]
        )
        return _runs_to_regions(flags, frame, opts)


def _runs_to_regions(flags: np.ndarray, frame: int, opts: SileroVadOptions) -> list[tuple[int, int]]:
    """Turn per-frame speech flags into regions, bridging short gaps and dropping short blips."""
    regions: list[list[int]] = []
    for i in np.flatnonzero(flags):
        start, end = int(i) * frame, (int(i) + 1) * frame
        if regions and start - regions[-1][1] <= opts.min_silence_s * VAD_SAMPLE_RATE:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    pad = int(opts.speech_pad_s * VAD_SAMPLE_RATE)
    limit = flags.size * frame
    return [
        (max(0, s - pad), min(limit, e + pad))
        for s, e in regions
        if e - s >= opts.min_speech_s * VAD_SAMPLE_RATE
    ]
