"""Voice analysis in plain numpy: median pitch (YIN), speaking rate and a coarse gender hint.

These traits steer the non-cloning synthesizer (espeak-ng pitch and rate) towards the star's voice and are
stored with the voice profile. Everything here is robust to silence: no speech gives ``None``, not a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

_ANALYSIS_SR = 16000
_FRAME_S = 0.040
_HOP_S = 0.010
_FMIN_HZ = 60.0
_FMAX_HZ = 500.0
_YIN_THRESHOLD = 0.15
_MIN_VOICED_FRAMES = 5
# Below this median F0 a voice is most likely male, above the upper bound most likely female; in between
# we say nothing rather than guess.
_MALE_BELOW_HZ = 150.0
_FEMALE_ABOVE_HZ = 175.0
# A pause longer than this is not counted as speaking time when measuring the rate.
_LONG_PAUSE_S = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceTraits:
    """What VOS measures of a voice from recordings; ``None`` where nothing could be measured."""

    median_f0_hz: float | None
    words_per_minute: float | None
    gender_hint: Literal["female", "male"] | None


def _prepare(audio: npt.ArrayLike, sr: int) -> npt.NDArray[np.float64]:
    """Mono float64 at the analysis rate (linear interpolation is enough for pitch and energy)."""
    if sr <= 0:
        raise ValueError(f"sample rate must be positive, got {sr}")
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim > 1:
        x = x.mean(axis=-1) if x.shape[-1] <= 8 else x.mean(axis=0)
    x = np.nan_to_num(x.reshape(-1))
    if sr != _ANALYSIS_SR and x.size:
        n = round(x.size * _ANALYSIS_SR / sr)
        x = np.interp(np.linspace(0, x.size - 1, n), np.arange(x.size), x)
    return x


def _frames(x: npt.NDArray[np.float64], length: int, hop: int) -> npt.NDArray[np.float64]:
    if x.size < length:
        return np.empty((0, length))
    count = 1 + (x.size - length) // hop
    windows: npt.NDArray[np.float64] = np.lib.stride_tricks.sliding_window_view(x, length)
    return windows[::hop][:count]


def _frame_rms(x: npt.NDArray[np.float64], length: int, hop: int) -> npt.NDArray[np.float64]:
    frames = _frames(x, length, hop)
    if not len(frames):
        return np.empty(0)
    rms: npt.NDArray[np.float64] = np.sqrt(np.mean(frames**2, axis=1))
    return rms


def _speech_mask(rms: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Frames loud enough to be speech: relative to the loud frames, with an absolute floor for silence."""
    if not rms.size:
        return np.zeros(0, dtype=bool)
    loud = float(np.percentile(rms, 95))
    return (rms > max(loud * 0.1, 1e-3)) & (rms > 0)


def f0_track(audio: npt.ArrayLike, sr: int) -> npt.NDArray[np.float64]:
    """Per-frame F0 in Hz (10 ms hop) by YIN; unvoiced or silent frames are ``nan``."""
    x = _prepare(audio, sr)
    window = round(_FRAME_S * _ANALYSIS_SR)
    hop = round(_HOP_S * _ANALYSIS_SR)
    tau_min = int(_ANALYSIS_SR / _FMAX_HZ)
    tau_max = int(_ANALYSIS_SR / _FMIN_HZ)
    frames = _frames(x, window + tau_max, hop)
    if not len(frames):
        return np.empty(0)
    frames = frames - frames.mean(axis=1, keepdims=True)
    speech = _speech_mask(np.sqrt(np.mean(frames[:, :window] ** 2, axis=1)))
    f0 = np.full(len(frames), np.nan)
    idx = np.flatnonzero(speech)
    if not idx.size:
        return f0
    sub = frames[idx]
    # YIN difference d(tau) = E(0) + E(tau) - 2 r(tau), with r computed by FFT cross-correlation.
    n_fft = 1 << int(np.ceil(np.log2(2 * sub.shape[1])))
    spec_full = np.fft.rfft(sub, n_fft, axis=1)
    spec_win = np.fft.rfft(sub[:, :window], n_fft, axis=1)
    r = np.fft.irfft(spec_full * np.conj(spec_win), n_fft, axis=1)[:, : tau_max + 1]
    energy = np.cumsum(np.pad(sub**2, ((0, 0), (1, 0))), axis=1)
    taus = np.arange(tau_max + 1)
    e_tau = energy[:, taus + window] - energy[:, taus]
    diff = np.maximum(e_tau[:, :1] + e_tau - 2 * r, 0.0)
    # Cumulative mean normalised difference; tau 0 is 1 by definition.
    cum = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    for row, frame_idx in enumerate(idx):
        curve = cmnd[row]
        below = np.flatnonzero(curve[tau_min:tau_max] < _YIN_THRESHOLD)
        if not below.size:
            continue
        tau = int(below[0]) + tau_min
        # Walk down to the bottom of this dip, then refine it with a parabola.
        while tau + 1 < tau_max and curve[tau + 1] < curve[tau]:
            tau += 1
        a, b, c = curve[tau - 1], curve[tau], curve[tau + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom > 1e-12 else 0.0
        f0[frame_idx] = _ANALYSIS_SR / (tau + float(np.clip(shift, -1, 1)))
    return f0


def median_f0(audio: npt.ArrayLike, sr: int) -> float | None:
    """Median fundamental frequency of the voiced frames in Hz, or ``None`` when too little is voiced."""
    track = f0_track(audio, sr)
    voiced = track[np.isfinite(track)]
    if voiced.size < _MIN_VOICED_FRAMES:
        return None
    return float(np.median(voiced))


def _speaking_seconds(speech: npt.NDArray[np.bool_], hop_s: float) -> float:
    """Time from first to last speech frame, leaving out long pauses."""
    idx = np.flatnonzero(speech)
    if not idx.size:
        return 0.0
    gaps = np.diff(idx) - 1
    long_gap_frames = int(gaps[gaps * hop_s > _LONG_PAUSE_S].sum())
    return float((idx[-1] - idx[0] + 1 - long_gap_frames) * hop_s)


def count_syllable_nuclei(audio: npt.ArrayLike, sr: int) -> int:
    """Estimate the number of syllables as peaks of the smoothed energy envelope (syllable nuclei)."""
    x = _prepare(audio, sr)
    hop = round(_HOP_S * _ANALYSIS_SR)
    rms = _frame_rms(x, round(0.025 * _ANALYSIS_SR), hop)
    if rms.size < 3:
        return 0
    speech = _speech_mask(rms)
    db = 20 * np.log10(np.maximum(rms, 1e-6))
    kernel = np.hanning(7)
    smooth = np.convolve(db, kernel / kernel.sum(), mode="same")
    floor = float(np.median(smooth[speech])) - 6 if speech.any() else 0.0
    peaks = 0
    last_peak = -100
    # A recording may start inside a syllable: measure the first rise from the quietest point.
    valley = float(smooth.min())
    for i in range(1, smooth.size - 1):
        valley = min(valley, smooth[i])
        is_peak = smooth[i] >= smooth[i - 1] and smooth[i] > smooth[i + 1]
        # A nucleus: a local maximum in speech, loud enough, 2 dB above the dip since the last one and
        # at least 80 ms after it (no syllable is shorter).
        if is_peak and speech[i] and smooth[i] > floor and smooth[i] - valley >= 2.0 and i - last_peak >= 8:
            peaks += 1
            last_peak = i
            valley = np.inf
    return peaks


def speaking_seconds(audio: npt.ArrayLike, sr: int) -> float:
    """Seconds of speech in ``audio``, long pauses excluded (the time a speaking rate is measured over)."""
    x = _prepare(audio, sr)
    rms = _frame_rms(x, round(0.025 * _ANALYSIS_SR), round(_HOP_S * _ANALYSIS_SR))
    return _speaking_seconds(_speech_mask(rms), _HOP_S)


def speaking_rate_wpm(
    audio: npt.ArrayLike,
    sr: int,
    transcript_words: int | None = None,
    *,
    syllables_per_word: float = 1.5,
) -> float | None:
    """Words per minute over the speaking time (long pauses excluded).

    With ``transcript_words`` the count is exact; without, syllable nuclei are counted and divided by
    ``syllables_per_word`` (about 1.5 for English; Korean eojeol average nearer 2.5 to 3).
    """
    x = _prepare(audio, sr)
    rms = _frame_rms(x, round(0.025 * _ANALYSIS_SR), round(_HOP_S * _ANALYSIS_SR))
    seconds = _speaking_seconds(_speech_mask(rms), _HOP_S)
    if seconds < 0.5:
        return None
    if transcript_words is not None:
        if transcript_words <= 0:
            return None
        words = float(transcript_words)
    else:
        syllables = count_syllable_nuclei(x, _ANALYSIS_SR)
        if syllables == 0:
            return None
        words = syllables / syllables_per_word
    return words * 60.0 / seconds


def gender_hint(f0_hz: float | None) -> Literal["female", "male"] | None:
    """A coarse hint from median F0; ``None`` in the ambiguous band or without pitch."""
    if f0_hz is None:
        return None
    if f0_hz < _MALE_BELOW_HZ:
        return "male"
    if f0_hz > _FEMALE_ABOVE_HZ:
        return "female"
    return None


def voice_traits(
    audio: npt.ArrayLike, sr: int, *, transcript_words: int | None = None, syllables_per_word: float = 1.5
) -> VoiceTraits:
    """Median F0, speaking rate and gender hint of one recording of one speaker."""
    f0 = median_f0(audio, sr)
    return VoiceTraits(
        median_f0_hz=f0,
        words_per_minute=speaking_rate_wpm(
            audio, sr, transcript_words, syllables_per_word=syllables_per_word
        ),
        gender_hint=gender_hint(f0),
    )
