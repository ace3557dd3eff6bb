"""Voice profiles, their reference clips and source recordings; every read and write goes through the owner.

Each clip and recording blob also gets a ``blob_refs`` row (owner + star), so /export ships them and /forget
and /forget_me delete them with the star's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.voice import VoiceClip, VoiceProfile, VoiceRecording
from core.storage.db import Database
from core.storage.ids import aware, new_id, utcnow
from core.storage.models import BlobRefRow, VoiceClipRow, VoiceMemoryRow, VoiceProfileRow, VoiceRecordingRow

RECORDING_PURPOSE = "voice_recording"
CLIP_PURPOSE = "voice_clip"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewVoiceClip:
    """A clip already stored as a blob, to be attached to a profile."""

    blob_key: str
    seconds: float
    size: int
    recording_id: str | None
    start: float
    end: float


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceMeasures:
    """What a profile row stores besides its clips."""

    engine: str
    embedding: tuple[float, ...]
    median_f0_hz: float | None
    words_per_minute: float | None
    gender_hint: str | None
    total_seconds: float
    syllables_per_second: float | None = None
    language: str | None = None


def _recording(row: VoiceRecordingRow) -> VoiceRecording:
    return VoiceRecording(
        id=row.id,
        owner_id=row.owner_id,
        star_id=row.star_id,
        blob_key=row.blob_key,
        filename=row.filename,
        duration_s=row.duration_s,
        created_at=aware(row.created_at),
    )


def _clip(row: VoiceClipRow) -> VoiceClip:
    return VoiceClip(
        id=row.id,
        blob_key=row.blob_key,
        seconds=row.seconds,
        recording_id=row.recording_id,
        start=row.source_start,
        end=row.source_end,
    )


def _profile(row: VoiceProfileRow, clips: Sequence[VoiceClipRow]) -> VoiceProfile:
    return VoiceProfile(
        id=row.id,
        star_id=row.star_id,
        owner_id=row.owner_id,
        engine=row.engine,
        embedding=tuple(float(v) for v in row.embedding),
        median_f0_hz=row.median_f0_hz,
        words_per_minute=row.words_per_minute,
        syllables_per_second=row.syllables_per_second,
        language=row.language,
        gender_hint=row.gender_hint,
        total_seconds=row.total_seconds,
        revision=row.revision,
        created_at=aware(row.created_at),
        clips=tuple(_clip(c) for c in clips),
    )


def _measures(row: VoiceProfileRow, m: VoiceMeasures) -> None:
    row.engine = m.engine
    row.embedding = list(m.embedding)
    row.median_f0_hz = m.median_f0_hz
    row.words_per_minute = m.words_per_minute
    row.syllables_per_second = m.syllables_per_second
    row.language = m.language or row.language
    row.gender_hint = m.gender_hint
    row.total_seconds = m.total_seconds
    row.updated_at = utcnow()


class VoiceRepository:
    """Rows of ``voice_recordings``, ``voice_profiles`` and ``voice_clips`` as frozen domain objects."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_recording(
        self, *, owner_id: str, star_id: str, blob_key: str, filename: str, duration_s: float, size: int
    ) -> VoiceRecording:
        """Record an uploaded recording (already in the blob store) and reference its blob."""
        now = utcnow()
        row = VoiceRecordingRow(
            id=new_id(),
            owner_id=owner_id,
            star_id=star_id,
            blob_key=blob_key,
            filename=filename[:255],
            duration_s=duration_s,
            created_at=now,
        )
        async with self.db.write() as s:
            s.add(row)
            s.add(
                _ref(
                    blob_key,
                    owner_id=owner_id,
                    star_id=star_id,
                    purpose=RECORDING_PURPOSE,
                    filename=filename,
                    size=size,
                )
            )
        return _recording(row)

    async def delete_unused_recording(self, recording_id: str) -> str | None:
        """Delete a recording (row and blob reference) when no voice clip or voice memory was made from it (a
        ``/voice`` abandoned before the pick: the id comes from that user's own flow state); returns its blob
        key, ``None`` when kept."""
        async with self.db.write() as s:
            row = await s.get(VoiceRecordingRow, recording_id)
            if row is None:
                return None
            for used in (VoiceClipRow.recording_id, VoiceMemoryRow.recording_id):
                if await s.scalar(select(used).where(used == recording_id).limit(1)) is not None:
                    return None
            await s.execute(
                delete(BlobRefRow).where(
                    BlobRefRow.blob_key == row.blob_key,
                    BlobRefRow.owner_id == row.owner_id,
                    BlobRefRow.star_id == row.star_id,
                    BlobRefRow.purpose == RECORDING_PURPOSE,
                )
            )
            await s.delete(row)
            return row.blob_key

    async def get_recording(self, owner_id: str, recording_id: str) -> VoiceRecording | None:
        """A recording if ``owner_id`` uploaded it."""
        async with self.db.read() as s:
            row = await s.scalar(
                select(VoiceRecordingRow).where(
                    VoiceRecordingRow.id == recording_id, VoiceRecordingRow.owner_id == owner_id
                )
            )
            return _recording(row) if row else None

    async def recordings(self, owner_id: str, star_id: str) -> list[VoiceRecording]:
        """The recordings the owner uploaded for the star, oldest first (for ``/export``)."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(VoiceRecordingRow)
                .where(VoiceRecordingRow.star_id == star_id, VoiceRecordingRow.owner_id == owner_id)
                .order_by(VoiceRecordingRow.created_at, VoiceRecordingRow.id)
            )
            return [_recording(r) for r in rows]

    async def set_pace(
        self, owner_id: str, star_id: str, *, syllables_per_second: float, language: str | None
    ) -> bool:
        """Store the star's pace measured from transcripts (a new revision: notes are spoken again)."""
        async with self.db.write() as s:
            row = await s.scalar(
                select(VoiceProfileRow).where(
                    VoiceProfileRow.star_id == star_id, VoiceProfileRow.owner_id == owner_id
                )
            )
            if row is None:
                return False
            row.syllables_per_second = syllables_per_second
            row.language = language or row.language
            row.revision += 1
            row.updated_at = utcnow()
            return True

    async def get_profile(self, owner_id: str, star_id: str) -> VoiceProfile | None:
        """The star's voice profile with its clips, only for the star's owner."""
        async with self.db.read() as s:
            row = await s.scalar(
                select(VoiceProfileRow).where(
                    VoiceProfileRow.star_id == star_id, VoiceProfileRow.owner_id == owner_id
                )
            )
            if row is None:
                return None
            return _profile(row, await _clip_rows(s, row.id))

    async def replace_profile(
        self, *, owner_id: str, star_id: str, measures: VoiceMeasures, clips: Sequence[NewVoiceClip]
    ) -> tuple[VoiceProfile, list[str]]:
        """A new profile for the star (an older one is dropped); returns it and the blob keys it released."""
        now = utcnow()
        async with self.db.write() as s:
            old = await s.scalar(
                select(VoiceProfileRow).where(
                    VoiceProfileRow.star_id == star_id, VoiceProfileRow.owner_id == owner_id
                )
            )
            released: list[str] = []
            revision = 1
            if old is not None:
                released = [c.blob_key for c in await _clip_rows(s, old.id)]
                revision = old.revision + 1
                await _drop_clip_refs(s, owner_id, star_id, released)
                await s.delete(old)
                await s.flush()
            row = VoiceProfileRow(id=new_id(), star_id=star_id, owner_id=owner_id, revision=revision)
            row.created_at = now
            _measures(row, measures)
            s.add(row)
            await s.flush()
            added = _add_clips(s, row, clips)
            return _profile(row, added), released

    async def append_clips(
        self, *, owner_id: str, profile_id: str, measures: VoiceMeasures, clips: Sequence[NewVoiceClip]
    ) -> VoiceProfile | None:
        """Add clips from another recording and store the updated measures; ``None`` if not the owner's."""
        async with self.db.write() as s:
            row = await s.scalar(
                select(VoiceProfileRow).where(
                    VoiceProfileRow.id == profile_id, VoiceProfileRow.owner_id == owner_id
                )
            )
            if row is None:
                return None
            _measures(row, measures)
            row.revision += 1
            _add_clips(s, row, clips)
            await s.flush()
            return _profile(row, await _clip_rows(s, row.id))


def _ref(key: str, *, owner_id: str, star_id: str, purpose: str, filename: str, size: int) -> BlobRefRow:
    return BlobRefRow(
        blob_key=key,
        owner_id=owner_id,
        star_id=star_id,
        purpose=purpose,
        filename=filename[:255],
        size=size,
        created_at=utcnow(),
    )


def _add_clips(s: AsyncSession, row: VoiceProfileRow, clips: Sequence[NewVoiceClip]) -> list[VoiceClipRow]:
    added = []
    for clip in clips:
        clip_row = VoiceClipRow(
            id=new_id(),
            profile_id=row.id,
            recording_id=clip.recording_id,
            blob_key=clip.blob_key,
            seconds=clip.seconds,
            source_start=clip.start,
            source_end=clip.end,
            created_at=utcnow(),
        )
        s.add(clip_row)
        s.add(
            _ref(
                clip.blob_key,
                owner_id=row.owner_id,
                star_id=row.star_id,
                purpose=CLIP_PURPOSE,
                filename=f"{clip_row.id}.wav",
                size=clip.size,
            )
        )
        added.append(clip_row)
    return added


async def _clip_rows(s: AsyncSession, profile_id: str) -> list[VoiceClipRow]:
    rows = await s.scalars(
        select(VoiceClipRow)
        .where(VoiceClipRow.profile_id == profile_id)
        .order_by(VoiceClipRow.created_at, VoiceClipRow.source_start)
    )
    return list(rows)


async def _drop_clip_refs(s: AsyncSession, owner_id: str, star_id: str, keys: Sequence[str]) -> None:
    if keys:
        await s.execute(
            delete(BlobRefRow).where(
                BlobRefRow.owner_id == owner_id,
                BlobRefRow.star_id == star_id,
                BlobRefRow.purpose == CLIP_PURPOSE,
                BlobRefRow.blob_key.in_(list(keys)),
            )
        )
