"""The star's imported conversation: every message of the export (the star's and the user's), and its import.

Storage keeps every message, so retrieval (``core.storage.memory``) can return whole exchanges: what the user
said and how the star answered.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.engine import AdaptedConnection, Connection
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.db import Database
from core.storage.models import StarMessageRow

log = logging.getLogger(__name__)

_BATCH = 10000
MAX_MESSAGE_CHARS = 10_000
"""A message's stored text is cut to this many characters (an export's 3-million-character line is a
paste or a damaged file, not a bubble; it would weigh on every read, index and prompt)."""
WRITE_BATCH = 500
"""Messages per transaction of a batched import: a few milliseconds of the write lock, one thread hop."""
Record = tuple[datetime, str, str, str]
"""A message as the importer takes it: time, author, kind, text (``KakaoReader.records()``)."""


class ExportMessage(Protocol):
    """What the importer stores of a parsed message (``KakaoMessage`` fits)."""

    @property
    def time(self) -> datetime: ...
    @property
    def author(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMessage:
    """A message of the imported conversation."""

    seq: int
    sent_at: datetime
    author: str
    is_star: bool
    kind: str
    text: str


_EPOCH = datetime(1970, 1, 1)
_TIME_HEX = 10  # seconds since 1970 up to year 9999
_HASH_HEX = 30  # 120 bits of SHA-1: fingerprint = 40 characters, the column's width


def _time_prefix(when: datetime) -> str:
    seconds = (when.replace(tzinfo=None) - _EPOCH) // timedelta(seconds=1)
    return f"{max(0, seconds):0{_TIME_HEX}x}"


def fingerprint(time: datetime, author: str, text: str, occurrence: int) -> str:
    """A message's identity in its star's conversation (``occurrence``: 1 for the first identical
    message at that time). Time-ordered hex: the time in seconds, then a hash of everything."""
    key = f"{time.isoformat()}\x1f{author}\x1f{text}\x1f{occurrence}"
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()
    return _time_prefix(time) + digest[:_HASH_HEX]


class RowBuilder:
    """Turns the message stream into insert rows, a batch at a time (run in a worker thread or the import's
    child process): tuples in column order (``_SQLITE_INSERT``'s), ``sent_at`` as SQLite's DATETIME text with
    ``sqlite``, else a naive datetime.

    A message's fingerprint is its time, author, text and how many identical messages came before it at
    the same time, so importing the same export again (or a longer one) finds the same fingerprints.
    It starts with the time (see :func:`fingerprint`), so the unique index grows at its right edge
    instead of taking a million random keys: that made a million-row insert about 2.5x faster.
    Only the messages of the current timestamp are remembered: memory stays flat however long the export.
    """

    def __init__(
        self,
        records: Iterable[Record],
        star_id: str,
        star_author: str,
        seq: int,
        *,
        sqlite: bool,
        batch: int = _BATCH,
        polite: bool = False,
    ) -> None:
        self._records = iter(records)
        self._batch = batch
        self._polite = polite
        self._star_id = star_id
        self._star_author = star_author
        self.seq = seq
        self._sqlite = sqlite
        self._time: datetime | None = None
        self._iso = ""
        self._stored = ""
        self._prefix = ""
        self._seen: dict[tuple[str, str], int] = {}
        self.cut = 0
        """How many messages were longer than ``MAX_MESSAGE_CHARS`` (their stored text is cut)."""

    def next_batch(self) -> list[Any]:
        """Up to ``batch`` rows."""
        # The hot loop of a million-message import: locals only, one hash per message. A new time (most
        # messages have one) costs one ``isoformat``: the stored text and the key's prefix are cut from
        # it (``datetime.replace`` and timedelta division cost ~10x more; ``_time_strings``).
        rows: list[Any] = []
        append = rows.append
        sha1 = hashlib.sha1
        star_id, star_author, seen, sqlite = self._star_id, self._star_author, self._seen, self._sqlite
        current, iso, stored, seq, prefix = self._time, self._iso, self._stored, self.seq, self._prefix
        polite = self._polite
        authors: dict[str, tuple[str, bool]] = {}
        for when, author, kind, whole in itertools.islice(self._records, self._batch):
            text = whole if len(whole) <= MAX_MESSAGE_CHARS else self._cut(seq, whole)
            if polite and not seq & 63:
                # Hand the GIL over every 64 messages: a chat turn's thread waits ~0.1 ms for it, not the
                # interpreter's 5 ms switch interval at each of its database hops.
                time.sleep(0)
            if when != current:
                current = when
                iso, prefix, stored = _time_strings(when)
                seen.clear()
            ident = (author, text)
            occurrence = seen[ident] = seen.get(ident, 0) + 1
            key = f"{iso}\x1f{author}\x1f{text}\x1f{occurrence}"
            fingerprint = prefix + sha1(key.encode(), usedforsecurity=False).hexdigest()[:_HASH_HEX]
            named = authors.get(author)
            if named is None:
                named = authors[author] = (author[:200], author == star_author)
            sent_at = stored if sqlite else when if when.tzinfo is None else when.replace(tzinfo=None)
            append((star_id, seq, sent_at, named[0], named[1], kind, text, fingerprint))
            seq += 1
        self._time, self._iso, self._stored, self.seq, self._prefix = current, iso, stored, seq, prefix
        return rows

    def _cut(self, seq: int, text: str) -> str:
        self.cut += 1
        log.warning(
            "imported message cut to %d characters: seq=%d length=%d", MAX_MESSAGE_CHARS, seq, len(text)
        )
        return text[:MAX_MESSAGE_CHARS]


_EPOCH_ORDINAL = _EPOCH.toordinal()


def _time_strings(when: datetime) -> tuple[str, str, str]:
    """A message time's three texts: ``isoformat()`` (in the fingerprint's key), the fingerprint's
    prefix (``_time_prefix``) and the stored ``sent_at`` (SQLAlchemy's SQLite DATETIME text format, so
    raw and ORM rows read back alike: naive, a space, microseconds)."""
    iso = when.isoformat()
    if when.tzinfo is not None or when.microsecond:
        naive = when.replace(tzinfo=None)
        return iso, _time_prefix(naive), naive.isoformat(" ", "microseconds")
    # Naive and whole seconds (every parsed export time): "YYYY-MM-DDTHH:MM:SS".
    seconds = (when.toordinal() - _EPOCH_ORDINAL) * 86400 + when.hour * 3600 + when.minute * 60 + when.second
    return iso, f"{max(0, seconds):0{_TIME_HEX}x}", f"{iso[:10]} {iso[11:]}.000000"


# Insert rows are ``RowBuilder``'s tuples, in this column order.
_SQLITE_INSERT = (
    "INSERT INTO star_messages (star_id, seq, sent_at, author, is_star, kind, text, fingerprint) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
# PostgreSQL: a batch is copied (binary COPY, encoded by asyncpg in C) into a temporary table, then moved in
# one statement that empties it and skips duplicates (``import_messages`` stages several batches in one
# transaction: each move takes only its own batch). SQLAlchemy's executemany with RETURNING
# processed every row's parameters in Python: a 1M-message import cost the importing process 15.3 s of CPU,
# 5.5 s this way. (Columns as arrays through ``unnest`` cost twice the copy: asyncpg checks every element.)
_PG_STAGING = "import_star_messages"
_PG_COLUMNS = ("star_id", "seq", "sent_at", "author", "is_star", "kind", "text", "fingerprint")
_PG_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS import_star_messages (star_id varchar(32), seq integer, "
    "sent_at timestamp, author varchar(200), is_star boolean, kind varchar(16), text text, "
    "fingerprint varchar(40)) ON COMMIT DELETE ROWS"
)
_PG_MOVE = (
    "WITH staged AS (DELETE FROM import_star_messages "
    "RETURNING star_id, seq, sent_at, author, is_star, kind, text, fingerprint) "
    "INSERT INTO star_messages (star_id, seq, sent_at, author, is_star, kind, text, fingerprint) "
    "SELECT star_id, seq, sent_at, author, is_star, kind, text, fingerprint FROM staged "
    "ON CONFLICT DO NOTHING"
)
_SQLITE_IMPORT_CACHE_KIB = 16384  # a bigger page cache while the unique index takes a million random keys

_LAST_SEQ = select(func.max(StarMessageRow.seq)).where(StarMessageRow.star_id == bindparam("sid"))
_STAR_TEXTS = (
    select(StarMessageRow.text)
    .where(StarMessageRow.star_id == bindparam("sid"), StarMessageRow.kind == "text", StarMessageRow.is_star)
    .order_by(StarMessageRow.seq)
)


class StarMessageStore:
    """Imports export messages of a star and reads them back."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _changed(self, star_id: str) -> None:
        """Hook: the star's messages are about to change (subclasses drop what they cached)."""

    @staticmethod
    def _export_version(conn: Connection, star_id: str) -> int:
        last = conn.scalar(_LAST_SEQ, {"sid": star_id})
        return -1 if last is None else int(last)

    async def export_version(self, star_id: str) -> int:
        """The version of the star's imported conversation: its last message's sequence number (-1: none).

        Every import that adds a message raises it, and messages are only deleted with their star, so what
        is derived from the export alone may be cached under (star id, version), even with several
        processes sharing the database.
        """
        return await self.db.run(lambda conn: self._export_version(conn, star_id))

    async def import_messages(
        self, session: AsyncSession, star_id: str, messages: Iterable[ExportMessage], star_author: str
    ) -> int:
        """Insert messages inside the caller's transaction; duplicates (same export again) are skipped.

        ``messages`` may be a lazy stream (a parser's generator): it is consumed in a worker thread, a batch
        at a time, while the previous batch is written, so neither the event loop nor memory carries the
        whole export. Any exception it raises propagates and the caller's transaction rolls back.
        Returns how many new messages were stored.
        """
        self._changed(star_id)
        start = await session.scalar(
            select(func.coalesce(func.max(StarMessageRow.seq), -1)).where(StarMessageRow.star_id == star_id)
        )
        records = ((m.time, m.author, m.kind, m.text) for m in messages)
        rows = RowBuilder(records, star_id, star_author, int(start or -1) + 1, sqlite=self.db.is_sqlite)
        if self.db.is_sqlite:
            return await self._import_sqlite(session, star_id, rows)
        conn = await session.connection()
        added = 0

        async def write(batch: list[Any]) -> None:
            nonlocal added
            added += await conn.run_sync(_insert_pg, batch)

        await _pipeline(rows, write)
        return added

    async def _import_sqlite(self, session: AsyncSession, star_id: str, rows: RowBuilder) -> int:
        # Raw DB-API executemany: SQLAlchemy's per-row parameter processing cost more than SQLite's insert.
        conn = await session.connection()
        last_id = int(await session.scalar(select(func.coalesce(func.max(StarMessageRow.id), 0))) or 0)
        cache = (await conn.exec_driver_sql("PRAGMA cache_size")).scalar()
        await conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_IMPORT_CACHE_KIB}")
        try:

            async def write(batch: list[Any]) -> None:
                await conn.exec_driver_sql(_SQLITE_INSERT, batch)

            await _pipeline(rows, write)
            # Writes are serialized and rowids only grow, so this import's rows are exactly id > last_id.
            added = await conn.exec_driver_sql(
                "SELECT count(*) FROM star_messages WHERE id > ? AND +star_id = ?", (last_id, star_id)
            )
            return int(added.scalar() or 0)
        finally:
            await conn.exec_driver_sql(f"PRAGMA cache_size={int(cache or -2000)}")

    async def next_seq(self, star_id: str) -> int:
        """The sequence number the star's next imported message takes."""
        return await self.db.run(lambda conn: self._export_version(conn, star_id)) + 1

    async def write_batches(
        self,
        star_id: str,
        batches: AsyncIterator[list[Any]],
        *,
        each_batch: Callable[[Connection], None] | None = None,
    ) -> int:
        """Write ready insert rows (``RowBuilder``'s), a transaction per batch; duplicates are skipped.

        No other writer waits for more than one batch. ``each_batch(conn)`` runs inside every batch's
        transaction (the caller's heartbeat). What committed stays when ``batches`` raises: the caller
        owns the clean-up (a star being imported is invisible until it says so).
        Returns how many new messages were stored.
        """
        self._changed(star_id)
        sqlite = self.db.is_sqlite
        added = 0
        insert = _insert_sqlite if sqlite else _insert_pg

        def write_batch(conn: Connection, rows: list[Any]) -> int:
            new = insert(conn, rows)
            if each_batch is not None:
                each_batch(conn)
            return new

        # One hop per transaction: the write lock is held for the statements alone, not for thread
        # hand-offs. The next batch is made (parsed, or received from the import process) between writes:
        # a write overlapping a parser in this process would wait for the GIL at every row.
        async for rows in batches:
            added += await self.db.run(functools.partial(write_batch, rows=rows), write=True)
        return added

    async def messages(
        self, star_id: str, *, star_only: bool = False, kinds: Sequence[str] = ("text",)
    ) -> list[StoredMessage]:
        """Stored messages in order (for style profiles and export)."""
        q = select(StarMessageRow).where(StarMessageRow.star_id == star_id, StarMessageRow.kind.in_(kinds))
        if star_only:
            q = q.where(StarMessageRow.is_star.is_(True))
        async with self.db.read() as s:
            rows = await s.scalars(q.order_by(StarMessageRow.seq))
            return [_stored(r) for r in rows]

    async def star_texts(self, star_id: str) -> list[str]:
        """The texts of the star's own text messages, in order (one round trip, no message objects)."""
        return await self.db.run(lambda conn: list(conn.scalars(_STAR_TEXTS, {"sid": star_id})))

    async def count(self, star_id: str) -> int:
        """How many messages a star has."""
        async with self.db.read() as s:
            return int(await s.scalar(select(func.count()).where(StarMessageRow.star_id == star_id)) or 0)


def _insert_sqlite(conn: Connection, rows: list[Any]) -> int:
    """Insert a batch of rows (raw DB-API executemany: SQLAlchemy's per-row parameter processing cost more
    than SQLite's insert); how many were new."""
    return int(conn.exec_driver_sql(_SQLITE_INSERT, rows).rowcount)


def _insert_pg(conn: Connection, rows: list[Any]) -> int:
    """Insert a batch of rows (inside its transaction) through the staging table; how many were new."""
    if not rows:
        return 0
    conn.exec_driver_sql(_PG_STAGE)
    driver = conn.connection.dbapi_connection
    assert isinstance(driver, AdaptedConnection)  # asyncpg's, the one PostgreSQL driver VOS runs on
    driver.run_async(lambda raw: raw.copy_records_to_table(_PG_STAGING, records=rows, columns=_PG_COLUMNS))
    return int(conn.exec_driver_sql(_PG_MOVE).rowcount)


async def _pipeline(rows: RowBuilder, write: Callable[[list[Any]], Awaitable[None]]) -> None:
    """Write each batch while the next one is parsed and built in a worker thread."""
    batch = await asyncio.to_thread(rows.next_batch)
    while batch:
        written, upcoming = await asyncio.gather(
            write(batch), asyncio.to_thread(rows.next_batch), return_exceptions=True
        )
        # Both sides finish before an error propagates: no statement is still running at the rollback.
        for outcome in (written, upcoming):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(upcoming, list)
        batch = upcoming


def _stored(row: StarMessageRow | Row[Any]) -> StoredMessage:
    return StoredMessage(
        seq=row.seq, sent_at=row.sent_at, author=row.author, is_star=row.is_star, kind=row.kind, text=row.text
    )
