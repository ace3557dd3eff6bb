"""Creating stars from KakaoTalk exports: read, choose the participant, import in short batches.

The export is never held in memory. In chat, ``parse`` counts participants for the choice (the user must
see them before choosing); ``create`` is one streaming pass that writes the messages, accumulates the
style profile and counts participants (``ParticipantMissing`` names them), so the CLI needs no other.
A large export is read in a child process (``import_producer``): this process only writes its rows.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.domain.records import BlobUse
from core.domain.stars import NewStar, Star
from core.personas.import_producer import PROCESS_ABOVE_BYTES, ImportOutcome, RowPlan, producer_for
from core.personas.kakao import Shape, inspect_export
from core.personas.style import StyleProfile
from core.personas.style.traits import extract_traits
from core.ports import BlobStore, ChatModel, EngineUnavailable, ProgressCallback
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.memory_index import IndexReport, MemoryIndexer
from core.storage.star_creation import StarCreation
from core.storage.star_imports import StarImports
from core.storage.star_messages import MAX_MESSAGE_CHARS
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
        process_above_bytes: int = PROCESS_ABOVE_BYTES,
    ) -> None:
        self.chat_model = chat_model
        self.process_above_bytes = process_above_bytes
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

    def _checked_size(self, path: Path) -> int:
        size = path.stat().st_size
        self.check_size(size)
        return size

    async def _import(
        self,
        star_id: str,
        path: Path,
        participant: str,
        *,
        fresh: bool,
        heartbeat: bool = False,
    ) -> tuple[int, ImportOutcome]:
        """One streaming pass: rows written in short transactions, the rest returned (checked)."""
        size = await asyncio.to_thread(self._checked_size, path)
        first_seq = 0 if fresh else await self.memory.next_seq(star_id)
        plan = RowPlan(
            star_id=star_id, star_author=participant, first_seq=first_seq, sqlite=self.db.is_sqlite
        )
        producer = producer_for(path, size, plan, process_above=self.process_above_bytes)
        imported = await self.memory.write_batches(
            star_id,
            producer.batches(),
            each_batch=(lambda conn: self.imports.heartbeat(conn, star_id)) if heartbeat else None,
        )
        outcome = producer.outcome
        assert outcome is not None  # set when the batches ran out
        outcome.check()
        if outcome.cut:
            log.warning(
                "import: %d messages longer than %d characters stored cut: star=%s",
                outcome.cut,
                MAX_MESSAGE_CHARS,
                star_id,
            )
        return imported, outcome

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
        export_size = await asyncio.to_thread(self._checked_size, path)
        photo_size = (
            await asyncio.to_thread(_size, await self.blobs.fetch_local(new.photo_blob))
            if new.photo_blob
            else 0
        )
        star = await self.creation.begin(new)
        star_id = star.id
        try:
            imported, outcome = await self._import(star_id, path, new.participant, fresh=True, heartbeat=True)
            if not outcome.style.star_count:
                raise ParticipantMissing(new.participant, outcome.counts)
            profile = outcome.style.profile()
            files = [
                BlobUse(
                    key=export_blob,
                    purpose="kakao_export",
                    filename=Path(new.export_filename).name or "kakao_export" + path.suffix,
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
            "star created: star=%s messages=%d skipped_lines=%d", star_id, imported, outcome.skipped_lines
        )
        await self.index_memory(star_id, progress)
        if self.chat_model is not None:
            # The seed's extraction step: ~10 traits from the star's own messages (data, never instructions).
            traits = await extract_traits(self.chat_model, outcome.style.samples(), "ko", name=new.name)
            if traits:
                profile = profile.with_traits(traits)
                await self.creation.store_profile(star_id, profile.to_dict(), traits)
        return ImportResult(
            star=star,
            imported=imported,
            profile=profile,
            skipped_lines=outcome.skipped_lines,
            shape=outcome.shape,
        )

    async def add_export(
        self, star: Star, export_blob: str, *, progress: ProgressCallback | None = None
    ) -> int:
        """Import another export of the same conversation; duplicates are skipped. Returns new messages."""
        path = await self.blobs.fetch_local(export_blob)
        # Batches of short transactions; a failure keeps what committed (duplicates are skipped next time).
        added, _ = await self._import(star.id, path, star.participant_name, fresh=False)
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
