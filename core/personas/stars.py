"""Creating stars from KakaoTalk exports: read, choose the participant, import in short batches.

The export is never held in memory. In chat, ``parse`` counts participants for the choice (the user must
see them before choosing); ``create`` is one streaming pass that writes the messages, accumulates the
style profile and counts participants (``ParticipantMissing`` names them), so the CLI needs no other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.domain.records import BlobUse
from core.domain.stars import NewStar, Star
from core.personas.kakao import KakaoParseError, KakaoReader, Shape, inspect_export
from core.personas.kakao.parser import Record
from core.personas.style import StyleAccumulator, StyleProfile
from core.personas.style.traits import extract_traits
from core.ports import BlobStore, ChatModel, EngineUnavailable, ProgressCallback
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.memory_index import IndexReport, MemoryIndexer
from core.storage.star_creation import StarCreation
from core.storage.star_imports import StarImports
from core.storage.star_messages import FTS_EVERY
from core.storage.stars import StarRepository

log = logging.getLogger(__name__)

__all__ = [
    "ExportSummary",
    "ExportTooLarge",
    "ImportResult",
    "NewStar",
    "ParticipantMissing",
    "StarService",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportSummary:
    """What an export holds, read without keeping its messages: enough to choose the star."""

    shape: Shape
    encoding: str
    counts: dict[str, int]
    messages: int
    skipped_lines: int
    first: datetime
    last: datetime

    def participants(self) -> dict[str, int]:
        """Message counts per author (every kind), most active first."""
        return dict(self.counts)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """The created star and what was imported."""

    star: Star
    imported: int
    profile: StyleProfile
    skipped_lines: int = 0
    shape: str = ""


class _Observed:
    """Streams an export's records while counting them (per author) and feeding the style profile."""

    def __init__(self, reader: KakaoReader, style: StyleAccumulator) -> None:
        self.reader = reader
        self.style = style
        self.total = 0
        self.counts: dict[str, int] = {}

    def __iter__(self) -> Iterator[Record]:
        add = self.style.add_record
        counts = self.counts
        for record in self.reader.records():
            self.total += 1
            add(*record)
            author = record[1]
            counts[author] = counts.get(author, 0) + 1
            yield record

    def check(self) -> None:
        """Raise like ``parse_export`` when the stream held no message at all."""
        if not self.total:
            if self.reader.first_skipped_line is not None:
                raise KakaoParseError("kakao.error.damaged", line=self.reader.first_skipped_line)
            raise KakaoParseError("kakao.error.no_messages")


class ParticipantMissing(ValueError):
    """The chosen participant wrote nothing in the export; ``counts`` are who did (most active first)."""

    def __init__(self, participant: str, counts: dict[str, int]) -> None:
        super().__init__(f"participant {participant!r} is not in the export")
        self.participant = participant
        self.counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


class ExportTooLarge(ValueError):
    """The export is over the configured size limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes > {limit}")
        self.size = size
        self.limit = limit


def _size(path: Path) -> int:
    return path.stat().st_size


class StarService:
    """Parses exports and creates stars with their memories and style profile."""

    def __init__(
        self,
        db: Database,
        memory: MemoryStore,
        blobs: BlobStore,
        *,
        max_export_bytes: int,
        chat_model: ChatModel | None = None,
        indexer: MemoryIndexer | None = None,
    ) -> None:
        self.chat_model = chat_model
        self.indexer = indexer
        self.imports = StarImports(db)
        self.creation = StarCreation(db, self.imports)
        self.stars = StarRepository(db)
        self.db = db
        self.memory = memory
        self.blobs = blobs
        self.max_export_bytes = max_export_bytes

    def check_size(self, size: int) -> None:
        """Raise :class:`ExportTooLarge` past the limit."""
        if size > self.max_export_bytes:
            raise ExportTooLarge(size, self.max_export_bytes)

    def _summary(self, path: Path) -> dict[str, Any]:
        self.check_size(path.stat().st_size)
        return inspect_export(path, extras=True)

    async def parse(self, path: Path) -> ExportSummary:
        """Read an export's participants off the event loop, streaming (raises ``KakaoParseError``)."""
        data = await asyncio.to_thread(self._summary, path)
        return ExportSummary(
            shape=data["shape"],
            encoding=data["encoding"],
            counts=data["participants"],
            messages=data["messages"],
            skipped_lines=data["skipped_lines"],
            first=datetime.fromisoformat(data["first"]),
            last=datetime.fromisoformat(data["last"]),
        )

    def _open(self, path: Path) -> KakaoReader:
        self.check_size(path.stat().st_size)
        return KakaoReader(path)  # detects the encoding: one pass over the file

    async def _reader(self, path: Path) -> KakaoReader:
        return await asyncio.to_thread(self._open, path)

    async def create(
        self,
        new: NewStar,
        export_blob: str,
        *,
        consent_text: str,
        consent_kind: str = "star_creation",
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Create the star from a stored export, in one streaming pass over the file.

        The messages go in batches, each its own short transaction (no one else's write waits for more
        than one batch), into a star that stays ``importing`` (invisible) until the transaction that writes
        its profile, consent and blob references makes it ``active``. A participant who wrote nothing, an
        export without messages, or any error (cancellation included) removes the star whole; a killed
        process leaves an ``importing`` star the sweep removes (``StarImports``).
        """
        path = await self.blobs.fetch_local(export_blob)
        reader = await self._reader(path)
        stream = _Observed(reader, StyleAccumulator(new.participant))
        export_size = await asyncio.to_thread(_size, path)
        photo_size = (
            await asyncio.to_thread(_size, await self.blobs.fetch_local(new.photo_blob))
            if new.photo_blob
            else 0
        )
        star = await self.creation.begin(new)
        star_id = star.id
        try:
            imported = await self.memory.import_batches(
                star_id,
                stream,
                new.participant,
                each_batch=lambda conn: self.imports.heartbeat(conn, star_id),
                fts_every=FTS_EVERY,
            )
            stream.check()
            if not stream.style.star_count:
                raise ParticipantMissing(new.participant, stream.counts)
            profile = stream.style.profile()
            files = [
                BlobUse(
                    key=export_blob,
                    purpose="kakao_export",
                    filename="kakao_export" + path.suffix,
                    size=export_size,
                )
            ]
            if new.photo_blob is not None:
                files.append(
                    BlobUse(key=new.photo_blob, purpose="photo", filename="photo.jpg", size=photo_size)
                )
            star = await self.creation.finish(
                star,
                profile=profile.to_dict(),
                consent_kind=consent_kind,
                consent_text=consent_text,
                files=files,
            )
        except BaseException:
            # Shielded: a cancelled import still removes what it wrote (the sweep catches a killed one).
            await asyncio.shield(self.imports.discard(star_id))
            raise
        log.info(
            "star created: star=%s messages=%d skipped_lines=%d", star_id, imported, reader.skipped_lines
        )
        await self.index_memory(star_id, progress)
        if self.chat_model is not None:
            # The seed's extraction step: ~10 traits from the star's own messages (data, never instructions).
            traits = await extract_traits(self.chat_model, stream.style.samples(), "ko", name=new.name)
            if traits:
                profile = profile.with_traits(traits)
                await self.creation.store_profile(star_id, profile.to_dict(), traits)
        return ImportResult(
            star=star,
            imported=imported,
            profile=profile,
            skipped_lines=reader.skipped_lines,
            shape=reader.shape,
        )

    async def add_export(
        self, star: Star, export_blob: str, *, progress: ProgressCallback | None = None
    ) -> int:
        """Import another export of the same conversation; duplicates are skipped. Returns new messages."""
        reader = await self._reader(await self.blobs.fetch_local(export_blob))
        stream = _Observed(reader, StyleAccumulator(star.participant_name))
        # Batches of short transactions; a failure keeps what committed (duplicates are skipped next time).
        added = await self.memory.import_batches(star.id, stream, star.participant_name)
        stream.check()
        await self.index_memory(star.id, progress)
        return added

    async def index_memory_report(
        self, star_id: str, progress: ProgressCallback | None = None
    ) -> IndexReport:
        """Bring the star's memory up to date (``vos memory index``), raising what fails."""
        if self.indexer is None:
            return IndexReport(moments=0, embedded=0, seconds=0.0)
        return await self.indexer.index_star(star_id, progress=progress)

    async def index_memory(self, star_id: str, progress: ProgressCallback | None = None) -> None:
        """Cut the new messages into moments and embed them (after the import's transaction: a failure
        here leaves the star whole, and ``vos memory index`` finishes the work)."""
        if self.indexer is None:
            return
        try:
            await self.indexer.index_star(star_id, progress=progress)
        except EngineUnavailable as exc:
            log.warning("memory vectors not built for star=%s: %s", star_id, exc)

    async def profile(self, star_id: str) -> StyleProfile | None:
        """The star's stored style profile."""
        stored = await self.stars.style_profile(star_id)
        return StyleProfile.from_dict(stored.profile) if stored else None
