"""An inaudible-by-design mark in every synthesized note, found again after Opus re-encoding.

Spread spectrum: a pseudo-random ±1 sequence derived from a fixed key, band-limited to 0.8–3.8 kHz (the band
every speech codec keeps, Opus voice notes and telephone alike), is added at ``LEVEL_DB`` below the speech's
own short-time level, so it rides under the voice and is silent in the pauses. Detection whitens the
cross-spectrum of the audio and the sequence (GCC-PHAT) over the same band and looks for one sharp peak:
a shift (a trimmed start) moves the peak, it does not hide it. The statistic is a z-score of that peak
against all other lags; unmarked speech stays below ``DETECT_Z``.

Why not a neural watermark (resemble-perth, AudioSeal): both need torch, an optional extra here, and
every note must carry the mark on the core install too; this one is numpy only and is measured in the
tests after the very Opus encoding VOS uses. It is a marker, not a secret: the key is public so that
anyone with VOS can verify a file. It does not survive deliberate removal (filtering the band out).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from core.ports import Audio

RATE = 16000
BAND_HZ = (800.0, 3800.0)
LEVEL_DB = -25.0
KEY = 0x56_4F_53_21  # "VOS!"
PERIOD_S = 60
DETECT_Z = 12.0
_ENVELOPE_S = 0.02


@dataclass(frozen=True, slots=True, kw_only=True)
class WatermarkCheck:
    """The detector's finding: ``z`` of the correlation peak and where the mark starts (seconds)."""

    detected: bool
    z: float
    offset_s: float


def _band(spectrum_len: int, n: int) -> npt.NDArray[np.bool_]:
    freqs = np.fft.rfftfreq(n, 1 / RATE)[:spectrum_len]
    return (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])


@cache
def _sequence() -> npt.NDArray[np.float32]:
    """One period of the band-limited, unit-power mark (computed once per process)."""
    n = PERIOD_S * RATE
    noise = np.random.default_rng(KEY).choice(np.array([-1.0, 1.0], dtype=np.float32), size=n)
    spectrum = np.fft.rfft(noise)
    spectrum[~_band(spectrum.size, n)] = 0
    band = np.fft.irfft(spectrum, n).astype(np.float32)
    band /= float(np.sqrt(np.mean(band * band))) or 1.0
    band.setflags(write=False)
    return band


def _mark_of_length(n: int) -> npt.NDArray[np.float32]:
    period = _sequence()
    reps = -(-n // period.size)
    return np.tile(period, reps)[:n] if reps > 1 else period[:n]


def _resample(audio: Audio, src: int, dst: int) -> npt.NDArray[np.float32]:
    if src == dst or audio.size == 0:
        return np.asarray(audio, dtype=np.float32)
    count = round(audio.size * dst / src)
    return np.interp(np.linspace(0, audio.size - 1, count), np.arange(audio.size), audio).astype(np.float32)


def embed(audio: Audio, sample_rate: int) -> npt.NDArray[np.float32]:
    """``audio`` with the mark added (same length and rate)."""
    samples = np.asarray(audio, dtype=np.float32)
    if samples.size == 0:
        return samples
    at16 = _resample(samples, sample_rate, RATE)
    frame = max(1, int(_ENVELOPE_S * RATE))
    envelope = np.sqrt(np.convolve(at16 * at16, np.ones(frame, np.float32) / frame, mode="same"))
    mark = (10 ** (LEVEL_DB / 20)) * envelope * _mark_of_length(at16.size)
    back = _resample(mark.astype(np.float32), RATE, sample_rate)[: samples.size]
    marked = samples + np.pad(back, (0, samples.size - back.size))
    peak = float(np.max(np.abs(marked))) if marked.size else 0.0
    return marked / peak * 0.99 if peak > 0.99 else marked


def detect(audio: Audio, sample_rate: int) -> WatermarkCheck:
    """Look for the mark in ``audio`` (any rate; re-encoded, trimmed or not)."""
    samples = _resample(np.asarray(audio, dtype=np.float32), sample_rate, RATE)
    if samples.size < RATE // 2:
        return WatermarkCheck(detected=False, z=0.0, offset_s=0.0)
    reference = _mark_of_length(min(samples.size + 10 * RATE, 4 * PERIOD_S * RATE))
    n = 1 << int(np.ceil(np.log2(samples.size + reference.size)))
    cross = np.fft.rfft(samples, n) * np.conj(np.fft.rfft(reference, n))
    cross /= np.abs(cross) + 1e-12
    cross[~_band(cross.size, n)] = 0
    corr = np.abs(np.fft.irfft(cross, n))
    lag = int(np.argmax(corr))
    z = float((corr[lag] - corr.mean()) / (corr.std() + 1e-12))
    offset = (lag - n if lag > n // 2 else lag) / RATE
    return WatermarkCheck(detected=z >= DETECT_Z, z=round(z, 1), offset_s=round(-offset, 3))
