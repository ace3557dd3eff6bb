"""Voice profiles: the chosen speaker's best reference clips and mean embedding, and finding that voice again.

A profile keeps 6 to 30 s of the speaker's cleanest speech (longer clean turns first, silence trimmed,
loudness normalised) and the mean speaker embedding over those clips; ``find_voice_segments`` scores the
turns of another recording against that embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.domain.audio import SpeakerTurn
from core.ports import Audio, SpeakerEncoder
from core.voice.separation import Span, clean_spans, extract_clip

MIN_PROFILE_S = 6.0
MAX_PROFILE_S = 30.0
TARGET_DBFS = -20.0


class NotEnoughSpeech(ValueError):
    """The speaker has less clean speech than a profile needs; ``seconds`` is what there is."""

    key = "voice.profile.not_enough_speech"

    def __init__(self, seconds: float, minimum: float) -> None:
        super().__init__(f"{seconds:.1f} s of clean speech, {minimum:.0f} s needed")
        self.seconds = seconds
        self.minimum = minimum


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceProfileData:
    """Reference clips (mono float32 at ``sample_rate``), their spans in the source and the mean embedding."""

    clips: list[Audio]
    spans: list[Span]
    embedding: npt.NDArray[np.float32]
    total_seconds: float
    sample_rate: int = 16000


def trim_silence(audio: Audio, sample_rate: int, *, top_db: float = 40.0, frame_s: float = 0.02) -> Span:
    """The ``(start, end)`` seconds between the first and last frame within ``top_db`` of the peak."""
    frame = max(1, int(frame_s * sample_rate))
    n = audio.size // frame
    if n == 0:
        return 0.0, audio.size / sample_rate
    rms = np.sqrt(np.mean(np.square(audio[: n * frame].reshape(n, frame)), axis=1))
    peak = float(rms.max())
    if peak <= 0:
        return 0.0, 0.0
    loud = np.flatnonzero(rms >= peak * 10 ** (-top_db / 20))
    return loud[0] * frame / sample_rate, min(audio.size, (loud[-1] + 1) * frame) / sample_rate


def normalize_loudness(audio: Audio, target_dbfs: float = TARGET_DBFS) -> Audio:
    """Scale ``audio`` to an RMS of ``target_dbfs``, never past a peak of -1 dBFS."""
    rms = float(np.sqrt(np.mean(np.square(audio)))) if audio.size else 0.0
    if rms < 1e-6:
        return audio.astype(np.float32)
    gain = 10 ** (target_dbfs / 20) / rms
    peak = float(np.max(np.abs(audio))) * gain
    if peak > 10 ** (-1 / 20):
        gain *= 10 ** (-1 / 20) / peak
    return (audio * gain).astype(np.float32)


def pick_reference_spans(
    turns: Sequence[SpeakerTurn],
    speaker: str,
    *,
    max_total_s: float = MAX_PROFILE_S,
    min_clip_s: float = 1.0,
) -> list[Span]:
    """The speaker's clean spans, longest first, until ``max_total_s``; the last one is shortened to fit."""
    picked: list[Span] = []
    total = 0.0
    for start, end in sorted(clean_spans(turns, speaker), key=lambda s: s[0] - s[1]):
        room = max_total_s - total
        if room < min_clip_s:
            break
        if end - start < min_clip_s:
            continue
        stop = min(end, start + room)
        picked.append((start, stop))
        total += stop - start
    return sorted(picked)


def build_voice_profile(
    audio: Audio,
    sample_rate: int,
    turns: Sequence[SpeakerTurn],
    speaker: str,
    encoder: SpeakerEncoder,
    *,
    min_total_s: float = MIN_PROFILE_S,
    max_total_s: float = MAX_PROFILE_S,
) -> VoiceProfileData:
    """Build ``speaker``'s profile from a separated recording; ``NotEnoughSpeech`` below ``min_total_s``."""
    clips: list[Audio] = []
    spans: list[Span] = []
    for span in pick_reference_spans(turns, speaker, max_total_s=max_total_s):
        raw = extract_clip(audio, sample_rate, span)
        lead, tail = trim_silence(raw, sample_rate)
        if tail - lead < 0.5:
            continue
        clips.append(normalize_loudness(extract_clip(raw, sample_rate, (lead, tail))))
        spans.append((span[0] + lead, span[0] + tail))
    total = sum(c.size for c in clips) / sample_rate
    if total < min_total_s:
        raise NotEnoughSpeech(total, min_total_s)
    return VoiceProfileData(
        clips=clips,
        spans=spans,
        embedding=mean_embedding(clips, sample_rate, encoder),
        total_seconds=total,
        sample_rate=sample_rate,
    )


def mean_embedding(
    clips: Sequence[Audio], sample_rate: int, encoder: SpeakerEncoder
) -> npt.NDArray[np.float32]:
    """The duration-weighted mean of the clips' embeddings, L2-normalised (also used to add recordings)."""
    vectors = np.stack([encoder.embed(c, sample_rate=sample_rate) * (c.size / sample_rate) for c in clips])
    mean = vectors.sum(axis=0)
    return np.asarray(mean / (np.linalg.norm(mean) or 1.0), dtype=np.float32)


def find_voice_segments(
    audio: Audio,
    sample_rate: int,
    turns: Sequence[SpeakerTurn],
    profile_embedding: npt.NDArray[np.float32],
    encoder: SpeakerEncoder,
    *,
    threshold: float = 0.75,
    min_turn_s: float = 0.8,
) -> list[SpeakerTurn]:
    """The turns of another recording spoken in the profile's voice (cosine similarity ≥ ``threshold``).

    Each speaker label is scored once over all its clean speech, so short turns inherit a reliable score.
    """
    target = profile_embedding / (np.linalg.norm(profile_embedding) or 1.0)
    matches: list[SpeakerTurn] = []
    for label in dict.fromkeys(t.speaker for t in turns):
        spans = [s for s in clean_spans(turns, label) if s[1] - s[0] >= min_turn_s]
        if not spans:
            continue
        speech = np.concatenate([extract_clip(audio, sample_rate, s) for s in spans])
        if float(encoder.embed(speech, sample_rate=sample_rate) @ target) >= threshold:
            matches.extend(t for t in turns if t.speaker == label)
    return sorted(matches, key=lambda t: t.start)
