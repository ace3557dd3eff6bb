"""Every place the database names a blob, asked at once: "does anything still need these blobs?".

The blob store is content-addressed and shared: one key can be a star's export, a meeting's audio and a
voice clip at the same time. So a blob is in use when *any* of these holds its key:
- a column that stores a key (:data:`BLOB_KEY_COLUMNS`): ``blob_refs`` (exports, photos, recordings, clips,
  voice memories), ``stars.photo_blob``, ``voice_recordings``, ``voice_clips``, ``voice_memories``,
  ``meetings.audio_blob`` (raw meeting audio and Craig track zips);
- work in progress (:data:`IN_PROGRESS_JSON`): the persisted state of an unfinished flow (``/new`` keeps the
  uploaded export and photo there until the star is made) and the payload or result of a queued or running
  job. These are free-form JSON, so any 64-hex string anywhere in them counts (a false match only keeps a
  blob longer; :func:`flow_blob_keys` is that reading of a flow's data).

A test compares these lists with the models, so a new column that names blobs cannot be forgotten here.

Every path that deletes stored content (``/forget``, ``/forget_me``, deleting a meeting, the meeting-audio
retention purge, replacing a voice profile or its memories, and the engine ending a flow: ``/cancel``, a
command replacing the dialog, a finished flow) goes through :func:`release_blobs` after deleting
its rows, and the orphan collector asks :meth:`BlobReferenceRepository.referenced` too, so a blob is deleted
only when nothing at all names it any more: identical bytes uploaded as a voice recording and as a meeting
survive the deletion of either one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.blob_release import flow_blob_keys, keys_in, release_blobs
from core.jobs.ports import JobStatus
from core.storage.db import Database
from core.storage.models import (
    BlobRefRow,
    FlowRow,
    JobRow,
    MeetingRow,
    StarRow,
    VoiceClipRow,
    VoiceMemoryRow,
    VoiceProfileRow,
    VoiceRecordingRow,
)

BLOB_KEY_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (
    BlobRefRow.blob_key,
    StarRow.photo_blob,
    VoiceRecordingRow.blob_key,
    VoiceClipRow.blob_key,
    VoiceMemoryRow.blob_key,
    MeetingRow.audio_blob,
)
"""Columns whose value is a blob key."""

IN_PROGRESS_JSON: tuple[InstrumentedAttribute[Any], ...] = (FlowRow.data, JobRow.payload, JobRow.result)
"""JSON columns that may name blobs: every flow row (a finished flow's row is deleted) and unfinished jobs."""

OWNER_OF: dict[InstrumentedAttribute[Any], InstrumentedAttribute[Any]] = {
    BlobRefRow.blob_key: BlobRefRow.owner_id,
    StarRow.photo_blob: StarRow.owner_id,
    VoiceRecordingRow.blob_key: VoiceRecordingRow.owner_id,
    VoiceMemoryRow.blob_key: VoiceMemoryRow.owner_id,
    MeetingRow.audio_blob: MeetingRow.owner_user_id,
}
"""The user column of each key column's row (a voice clip's owner is its profile's, joined below)."""

_UNFINISHED_JOBS = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
__all__ = [
    "BLOB_KEY_COLUMNS",
    "IN_PROGRESS_JSON",
    "BlobReferenceRepository",
    "flow_blob_keys",
    "keys_in",
    "release_blobs",
]
_BATCH = 500  # keys per IN (...): far below SQLite's and PostgreSQL's bound-parameter limits


class BlobReferenceRepository:
    """Which blob keys are still referenced from anywhere in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def referenced(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` that a row, an unfinished flow or an unfinished job still names."""
        wanted = sorted(set(keys))
        if not wanted:
            return set()
        found: set[str] = set()
        async with self.db.read() as s:
            for start in range(0, len(wanted), _BATCH):
                chunk = wanted[start : start + _BATCH]
                for column in BLOB_KEY_COLUMNS:
                    found.update(await s.scalars(select(column).where(column.in_(chunk)).distinct()))
            found |= await self._held_in_progress(s)
        return found & set(wanted)

    async def unreferenced(self, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` that nothing names any more: safe to delete once their rows are gone."""
        wanted = set(keys)
        return wanted - await self.referenced(sorted(wanted))

    async def held_by(self, user_id: str) -> set[str]:
        """Every blob key the user's own rows, flows and jobs (any status) name: what ``/forget_me`` releases.

        Read before the user's rows are deleted; which of these may then really go is
        :meth:`unreferenced`'s answer, because another user's data can name the same content.
        """
        found: set[str] = set()
        async with self.db.read() as s:
            for column, owner in OWNER_OF.items():
                found.update(await s.scalars(select(column).where(owner == user_id, column.is_not(None))))
            found.update(
                await s.scalars(
                    select(VoiceClipRow.blob_key)
                    .join(VoiceProfileRow, VoiceProfileRow.id == VoiceClipRow.profile_id)
                    .where(VoiceProfileRow.owner_id == user_id)
                )
            )
            for data in await s.scalars(select(FlowRow.data).where(FlowRow.user_id == user_id)):
                found |= flow_blob_keys(data)
            for payload, result in await s.execute(
                select(JobRow.payload, JobRow.result).where(JobRow.owner_id == user_id)
            ):
                found |= keys_in(payload) | keys_in(result)
        return found

    @staticmethod
    async def _held_in_progress(s: AsyncSession) -> set[str]:
        held: set[str] = set()
        for data in await s.scalars(select(FlowRow.data)):
            held |= flow_blob_keys(data)
        jobs = await s.execute(
            select(JobRow.payload, JobRow.result).where(JobRow.status.in_(_UNFINISHED_JOBS))
        )
        for payload, result in jobs:
            held |= keys_in(payload) | keys_in(result)
        return held
