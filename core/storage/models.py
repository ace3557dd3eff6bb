"""SQLAlchemy 2 typed models. ORM objects never leave ``core.storage``: repositories map them to domain
objects."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(32)
TS = DateTime(timezone=True)


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (needed for SQLite batch migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRow(Base):
    """A platform identity."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(8))
    locale_explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    active_star_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    voice_replies: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS)


class StarRow(Base):
    """A star: a persona built from a chat export."""

    __tablename__ = "stars"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    relation: Mapped[str] = mapped_column(String(100), default="")
    participant_name: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    death_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    photo_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    user_address: Mapped[str] = mapped_column(String(100), default="", server_default="")
    user_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(TS)
    import_seen_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    """While ``status`` is ``importing``: when the import last committed a batch (its heartbeat)."""


class StarMessageRow(Base):
    """One message of the imported conversation (the star's and the other participants')."""

    __tablename__ = "star_messages"
    __table_args__ = (
        UniqueConstraint("star_id", "fingerprint"),
        Index("ix_star_messages_star_seq", "star_id", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    star_id: Mapped[str] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    author: Mapped[str] = mapped_column(String(200))
    is_star: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(40))


class MemoryMomentRow(Base):
    """One moment of memory: an exchange cut by turns and time gaps, from the export or from VOS chats.

    ``user_id`` is empty for the export (shared by whoever owns the star) and set for what a user told
    the star in VOS (only that user's searches see it). ``body`` is the moment's lines as JSON
    (``[[author, is_star, text], ...]``); ``tokens`` its content morphemes, space-separated (the lexical
    index); ``scope`` the star and user as index tokens (SQLite FTS5 narrows by them); ``vector`` the
    embedder's float32 vector of the moment, computed by ``embedder``.
    """

    __tablename__ = "memory_moments"
    __table_args__ = (Index("ix_memory_moments_star_user_id", "star_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    star_id: Mapped[str] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    source: Mapped[str] = mapped_column(String(16))
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    body: Mapped[str] = mapped_column(Text)
    tokens: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(80))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    embedder: Mapped[str] = mapped_column(String(80), default="")


class StyleProfileRow(Base):
    """The star's writing style, computed at import."""

    __tablename__ = "style_profiles"

    star_id: Mapped[str] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"), primary_key=True)
    profile: Mapped[dict[str, object]] = mapped_column(JSON)
    traits: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(TS)


class ChatTurnRow(Base):
    """One bubble of the conversation between a user and a star."""

    __tablename__ = "chat_turns"
    __table_args__ = (Index("ix_chat_turns_user_star_id", "user_id", "star_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    star_id: Mapped[str] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(String(40), default="")
    in_context: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class FlowRow(Base):
    """A persisted multi-step dialog (one active flow per user)."""

    __tablename__ = "flows"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(TS, index=True)  # flows expire by it


class ConsentRow(Base):
    """A consent the user gave, with what they agreed to and when."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    star_id: Mapped[str | None] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    given_at: Mapped[datetime] = mapped_column(TS)


class BlobRefRow(Base):
    """Who uses a stored blob. A blob with no references left is deleted from the blob store."""

    __tablename__ = "blob_refs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    blob_key: Mapped[str] = mapped_column(String(64), index=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    star_id: Mapped[str | None] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"), nullable=True)
    purpose: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TS)


class JobRow(Base):
    """A heavy job (import, separation, transcription, synthesis) and its progress."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    progress_text: Mapped[str] = mapped_column(String(200), default="")
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    result: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)


class SafetyEventRow(Base):
    """A blocked message or a crisis hand-off, logged for the owner without the blocked content."""

    __tablename__ = "safety_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    star_id: Mapped[str | None] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"), nullable=True)
    direction: Mapped[str] = mapped_column(String(8))
    verdict: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TS)


class CrisisReferralRow(Base):
    """One crisis hand-off, counted for operators: a time and nothing else (it outlives a deleted user)."""

    __tablename__ = "crisis_referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(TS, index=True)


class VoiceRecordingRow(Base):
    """A recording uploaded for a star's voice; the audio itself is a blob (referenced in ``blob_refs``)."""

    __tablename__ = "voice_recordings"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    star_id: Mapped[str] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"), index=True)
    blob_key: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255), default="")
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(TS)


class VoiceProfileRow(Base):
    """A star's voice profile (one per star): mean speaker embedding and measured traits."""

    __tablename__ = "voice_profiles"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    star_id: Mapped[str] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"), unique=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    engine: Mapped[str] = mapped_column(String(40))
    embedding: Mapped[list[float]] = mapped_column(JSON)
    median_f0_hz: Mapped[float | None] = mapped_column(Float, nullable=True)
    words_per_minute: Mapped[float | None] = mapped_column(Float, nullable=True)
    syllables_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    gender_hint: Mapped[str | None] = mapped_column(String(8), nullable=True)
    total_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)


class VoiceClipRow(Base):
    """A reference clip of a voice profile: a WAV blob cut from one of the star's recordings."""

    __tablename__ = "voice_clips"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    profile_id: Mapped[str] = mapped_column(ForeignKey("voice_profiles.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[str | None] = mapped_column(
        ForeignKey("voice_recordings.id", ondelete="SET NULL"), nullable=True
    )
    blob_key: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[float] = mapped_column(Float)
    source_start: Mapped[float] = mapped_column(Float, default=0.0)
    source_end: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(TS)


class MeetingRow(Base):
    """A meeting of the archive, its processing job state and its summary (owned by a user or a guild)."""

    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_owner_user_id", "owner_user_id"),
        Index("ix_meetings_guild_id", "guild_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    guild_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str | None] = mapped_column(ID, nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16), default="mixed")
    created_at: Mapped[datetime] = mapped_column(TS)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    language: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    progress_text: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    audio_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)


class MeetingSpeakerRow(Base):
    """A speaker label of a meeting and the name shown for it (renamable)."""

    __tablename__ = "meeting_speakers"

    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))


class MeetingSegmentRow(Base):
    """One transcript segment; ``embedding`` is an optional float16 sentence vector for hybrid search."""

    __tablename__ = "meeting_segments"
    __table_args__ = (Index("ix_meeting_segments_meeting_seq", "meeting_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # The recognised words as JSON ``[[start, end, text], ...]`` (``None``: not aligned, or corrected).
    words: Mapped[str | None] = mapped_column(Text, nullable=True)


class VoiceMemoryRow(Base):
    """A voice memory: one transcribed stretch of the star's real voice and its OGG/Opus clip (a blob).

    The integer id is the rowid of the SQLite FTS5 index (``fts_voice_memories``, migration 0005).
    """

    __tablename__ = "voice_memories"
    __table_args__ = (Index("ix_voice_memories_owner_star", "owner_id", "star_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    star_id: Mapped[str] = mapped_column(ForeignKey("stars.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[str | None] = mapped_column(
        ForeignKey("voice_recordings.id", ondelete="SET NULL"), nullable=True
    )
    source_start: Mapped[float] = mapped_column(Float)
    source_end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16), default="")
    blob_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)


class MeetingOptOutRow(Base):
    """A Discord member who opted out of meeting capture in one guild (``/optout``; ``/optin`` deletes it).

    ``user_id`` is the platform's user id (a Discord snowflake), not ``users.id``: capture filters by the
    id the voice connection reports, for members VOS may never have talked to otherwise.
    """

    __tablename__ = "meeting_optouts"

    guild_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class MeetingVoiceRow(Base):
    """An enrolled voice: a member's speaker embedding, so later meetings name them (consent recorded).

    Personal (``guild_id`` is NULL: the owner's own meetings) or for one Discord guild, where
    ``platform_user_id`` is the member's Discord id (``/optout`` finds it by that).
    """

    __tablename__ = "meeting_voices"
    __table_args__ = (
        Index("ix_meeting_voices_owner_user_id", "owner_user_id"),
        Index("ix_meeting_voices_guild_id", "guild_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    guild_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    platform_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    engine: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float] = mapped_column(Float)
    consent_text: Mapped[str] = mapped_column(Text)
    consented_at: Mapped[datetime] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)
