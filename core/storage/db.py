"""The database: an async SQLAlchemy engine for SQLite (embedded default) or PostgreSQL.

SQLite runs in WAL mode with foreign keys and a busy timeout, and VOS serializes its own writes with one
lock so that "database is locked" never reaches a user. PostgreSQL needs no such lock.

Hot paths (every chat turn) use :meth:`Database.run`: a function over a synchronous SQLAlchemy Core
connection, run in one hop. Through aiosqlite and an ORM session each statement costs four thread hops
(cursor, execute, fetch, close) and the session's bookkeeping, about 0.5 ms of CPU for a query SQLite
answers in microseconds; ``run`` executes the whole function in a worker thread instead, on that
thread's own ``sqlite3`` connection (about 0.1 ms). On PostgreSQL it is ``AsyncConnection.run_sync``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

T = TypeVar("T")
log = logging.getLogger(__name__)
# Threads (and pooled sqlite3 connections) for Database.run. sqlite3 hands the GIL back around every
# step, so more threads mostly fight the event loop for it: on 2 cores, 1-2 threads served the Telegram
# bench ~15% faster than 4. Two keep a slow search (a LIKE scan of a huge star) from stalling every turn.
_SQLITE_WORKERS = 2


# How long a write waits for SQLite's write lock. VOS's own lock serializes one process's writes, but several
# processes (Telegram shards, a worker) share the file. An import holds it for one batch at a time (a few
# milliseconds), but a migration or a long job's transaction can hold it for seconds: waiting that out
# beats "database is locked".
_BUSY_TIMEOUT_S = 60


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_S * 1000}")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten with zeros, not left in free pages for anyone who reads the file.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


_PING_AFTER_IDLE_S = 30.0
"""A pooled PostgreSQL connection idle longer than this is pinged before use (a server restart or a network
idle timeout drops it unseen); one in use more often is not: a ping on every checkout (``pool_pre_ping``)
was one round trip more per hop, about 1 ms p50 and 4 ms p95 of a 100k-message star's search under load."""
_RECYCLE_S = 1800


def _idle_pinger(engine: AsyncEngine) -> None:
    """Ping a pooled connection on checkout only after ``_PING_AFTER_IDLE_S`` idle; a failed ping replaces
    every pooled connection (SQLAlchemy retries the checkout on a new one)."""

    def checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["vos_idle_since"] = time.monotonic()

    def checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("vos_idle_since", None)
        if since is None or time.monotonic() - since < _PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:
            raise exc.InvalidatePoolError(f"idle connection lost: {error}") from error

    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checked_out)


class Database:
    """Owns the engine and hands out sessions: ``read()`` for queries, ``write()`` for one transaction."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        # hide_parameters: error texts (logged, shown) never carry the bound values, which are chat text.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": _BUSY_TIMEOUT_S}
        else:
            # The most recently used connection first (LIFO), so a busy bot reuses a warm one and only a
            # connection idle past ``_PING_AFTER_IDLE_S`` is pinged.
            kwargs.update(pool_size=10, max_overflow=10, pool_use_lifo=True, pool_recycle=_RECYCLE_S)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_on_connect)
        else:
            _idle_pinger(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        self._sync_engine: Engine | None = None
        self._executor: ThreadPoolExecutor | None = None
        if self.dialect == "sqlite" and _is_file_database(parsed.database):
            # A second, synchronous engine on the same file (an in-memory database would be another one).
            self._sync_engine = create_engine(
                parsed.set(drivername="sqlite+pysqlite"),
                echo=echo,
                hide_parameters=True,
                pool_size=_SQLITE_WORKERS,
                max_overflow=0,
                connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False},
            )
            event.listen(self._sync_engine, "connect", _sqlite_on_connect)
            self._executor = ThreadPoolExecutor(_SQLITE_WORKERS, thread_name_prefix="vos-sqlite")
        # Each worker thread keeps its own connection: a pool checkout, a new Connection and its return cost
        # more CPU per hop than the queries of a chat turn.
        self._local = threading.local()
        self._thread_conns: list[Connection] = []
        self._thread_conns_lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite database."""
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads (no commit)."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        if self._write_lock is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._sessions() as session, session.begin():
            yield session

    async def run(self, fn: Callable[[Connection], T], *, write: bool = False) -> T:
        """``fn(connection)`` with a synchronous Core connection; with ``write``, inside one transaction
        (committed on success, rolled back on any error) and the SQLite write lock. ``fn`` runs in a worker
        thread on SQLite: it may only use the connection, and returns plain values or domain objects."""
        if self._sync_engine is None or self._executor is None:
            async with self.write() if write else self.read() as session:
                conn = await session.connection()
                return await conn.run_sync(fn)
        loop = asyncio.get_running_loop()
        if write and self._write_lock is not None:
            # If the caller is cancelled the thread still finishes its transaction; a writer that takes
            # the lock meanwhile waits for it in SQLite's busy timeout, never an error.
            async with self._write_lock:
                return await loop.run_in_executor(self._executor, self._run_sqlite, fn, True)
        return await loop.run_in_executor(self._executor, self._run_sqlite, fn, False)

    def _run_sqlite(self, fn: Callable[[Connection], T], write: bool) -> T:
        conn = self._thread_connection()
        if write:
            with conn.begin():
                return fn(conn)
        try:
            return fn(conn)
        finally:
            conn.rollback()  # no read transaction (and its snapshot) outlives the hop

    def _thread_connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            assert self._sync_engine is not None
            conn = self._sync_engine.connect()
            self._local.conn = conn
            with self._thread_conns_lock:
                self._thread_conns.append(conn)
        return conn

    async def after_deletion(self, *, optimize_fulltext: bool = False) -> None:
        """Make deleted content unreadable on disk now: on SQLite, checkpoint the WAL and truncate it.

        With ``secure_delete`` the main file's freed pages are zeroed, but until a checkpoint the deleted
        rows' old pages still sit in the ``-wal`` file; TRUNCATE copies the WAL back and empties it. It waits
        (the busy timeout) for other readers and writers; if one keeps the WAL busy past that, the checkpoint
        is partial and the next one finishes it (a log line says so). PostgreSQL: nothing to do (VACUUM's).

        ``optimize_fulltext`` (``/forget``, ``/forget_me``): FTS5 only marks deleted rows, so their terms
        stay in the index's old segments until a merge; rebuilding each FTS5 index drops them (under the
        write lock; about 1 s per 200,000 rows was measured on the message index migration 0014 dropped).
        SQLite 3.42's ``secure-delete`` option would make it unnecessary, but is not what these machines have.
        """
        if not self.is_sqlite:
            return

        def checkpoint(conn: Connection) -> tuple[int, int, int]:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            return (int(row[0]), int(row[1]), int(row[2])) if row is not None else (0, 0, 0)

        def optimize(conn: Connection) -> None:
            tables = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'"
            ).scalars()
            for table in list(tables):
                quoted = '"' + str(table).replace('"', '""') + '"'
                conn.exec_driver_sql(f"INSERT INTO {quoted}({quoted}) VALUES ('optimize')")  # noqa: S608

        if self._sync_engine is None or self._executor is None:
            return  # an in-memory database has no files
        if optimize_fulltext:
            await self.run(optimize, write=True)
        assert self._write_lock is not None
        async with self._write_lock:
            busy, _, _ = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run_sqlite, checkpoint, False
            )
        if busy:
            log.warning("WAL checkpoint after a deletion was partial: another connection kept it busy")

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        from sqlalchemy import text

        async with self.read() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown)
            self._executor = None
        with self._thread_conns_lock:
            conns, self._thread_conns = self._thread_conns, []
        for conn in conns:  # their threads have ended (check_same_thread is off)
            conn.close()
        if self._sync_engine is not None:
            self._sync_engine.dispose()


def _is_file_database(database: str | None) -> bool:
    return bool(database) and database != ":memory:" and "mode=memory" not in (database or "")
