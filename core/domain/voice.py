"""A star's voice as VOS keeps it: the profile, its reference clips and the recordings they came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceRecording:
    """A recording the user uploaded for a star's voice (kept in the blob store under ``blob_key``)."""

    id: str
    owner_id: str
    star_id: str
    blob_key: str
    filename: str
    duration_s: float
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceClip:
    """A reference clip of the star's real voice: a WAV blob cut from recording ``recording_id``."""

    id: str
    blob_key: str
    seconds: float
    recording_id: str | None
    start: float
    end: float


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceProfile:
    """The star's voice: reference clips, the mean speaker embedding and the traits measured from the clips.

    ``revision`` grows each time clips change, so caches keyed by ``cache_id`` never serve an old voice.
    """

    id: str
    star_id: str
    owner_id: str
    engine: str
    embedding: tuple[float, ...]
    median_f0_hz: float | None
    words_per_minute: float | None
    gender_hint: str | None
    total_seconds: float
    revision: int
    created_at: datetime
    clips: tuple[VoiceClip, ...] = ()
    syllables_per_second: float | None = None
    """The star's speaking rate (Hangul syllables for Korean), over speaking time."""
    language: str | None = None
    """The language the star spoke in the recordings (``ko``, ``en``), when known."""

    @property
    def cache_id(self) -> str:
        """The id synthesizers and caches see: changes whenever the clips change."""
        return f"{self.id}-r{self.revision}"
