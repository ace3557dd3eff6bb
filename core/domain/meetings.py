"""Meetings in the archive: who owns them, how far their processing got, their segments and Q&A answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from core.domain.audio import Word


class MeetingStatus(StrEnum):
    """Where a meeting's processing job stands (persisted, so a restart can report it)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class MeetingSource(StrEnum):
    """What was imported: one mixed recording, or one track per speaker (Craig zip, Discord capture)."""

    MIXED = "mixed"
    TRACKS = "tracks"


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingScope:
    """Who may see a meeting: one user, or everyone of a Discord guild. Exactly one of the two is set."""

    user_id: str | None = None
    guild_id: str | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.guild_id is None):
            raise ValueError("a meeting scope is a user or a guild, not both or neither")

    @classmethod
    def of_user(cls, user_id: str) -> MeetingScope:
        """A user's own meetings."""
        return cls(user_id=user_id)

    @classmethod
    def of_guild(cls, guild_id: str) -> MeetingScope:
        """A Discord guild's meetings."""
        return cls(guild_id=guild_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Meeting:
    """A meeting of the archive. ``summary`` is the JSON of a ``MeetingSummary`` once processed."""

    id: str
    scope: MeetingScope
    title: str
    created_at: datetime
    status: MeetingStatus
    source: MeetingSource = MeetingSource.MIXED
    duration_s: float = 0.0
    language: str = ""
    progress: float = 0.0
    progress_text: str = ""
    error: str | None = None
    audio_blob: str | None = None
    summary: dict[str, object] | None = None
    created_by: str | None = None
    notes: str = ""
    """What the recording noted about itself (a live capture: each speaker's capture health)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingSpeaker:
    """A speaker label of one meeting (``S1``, a Craig file name) and the name shown for it."""

    label: str
    display_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSegment:
    """One stored transcript segment; ``speaker`` is the display name (the label when never named)."""

    id: int
    meeting_id: str
    seq: int
    start: float
    end: float
    speaker: str | None
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Citation:
    """Evidence for an answer: which meeting, when, who, and what was said."""

    meeting_id: str
    meeting_title: str
    start: float
    speaker: str | None
    text: str
    score: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingAnswer:
    """An answer to a question over meetings; ``abstained`` when the evidence was not there."""

    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    engine: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrolledVoice:
    """A member's enrolled voice: later meetings of its scope name them when their voice matches.

    ``guild_id`` is None for a personal enrolment (the owner's own meetings). ``embedding`` is the
    L2-normalised speaker vector; ``consent_text`` is the wording the member agreed to, at ``consented_at``.
    """

    id: str
    owner_user_id: str
    guild_id: str | None
    platform_user_id: str | None
    name: str
    engine: str
    seconds: float
    consent_text: str
    consented_at: datetime
    embedding: tuple[float, ...] = field(default=(), compare=False, repr=False)
