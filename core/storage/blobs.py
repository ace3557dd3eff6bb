"""A content-addressed blob store on the local disk: files under ``<root>/ab/cd/<sha256>``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from core.ports import StoredBlob

_CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")


def is_blob_key(name: str) -> bool:
    """Whether ``name`` is a blob key (a lowercase sha256 hex digest)."""
    return len(name) == 64 and _HEX.issuperset(name)


def _valid_key(key: str) -> str:
    if not is_blob_key(key):
        raise ValueError(f"not a blob key: {key[:80]!r}")
    return key


def _is_shard(name: str) -> bool:
    return len(name) == 2 and _HEX.issuperset(name)


INCOMING_PREFIX = ".incoming-"
# A temporary file younger than this is never swept: its writer may have created it and not yet locked it.
_INCOMING_MIN_AGE_S = 60.0


def _lock(fd: int) -> None:
    """Hold an exclusive ``flock`` on ``fd`` for as long as it stays open (released by the kernel when the
    process dies, kill -9 included): the sweeper's proof that a temporary file is still being written."""
    try:
        import fcntl
    except ImportError:  # not POSIX: the sweeper then goes by age alone
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _abandoned(path: str) -> bool:
    """Whether nobody holds the temporary file's lock (its writer finished or died)."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the lock we may have taken
    return True


@contextmanager
def incoming_file(directory: Path) -> Iterator[tuple[int, str]]:
    """A new locked temporary file in ``directory``: (open fd, path). The path is deleted on exit unless the
    caller moved it away; the lock holds until then, so :func:`sweep_incoming` never takes a live one."""
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=INCOMING_PREFIX)
    try:
        _lock(fd)
        yield fd, tmp_name
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        os.close(fd)


def sweep_incoming(directory: Path, *, min_age_s: float = _INCOMING_MIN_AGE_S) -> int:
    """Delete the temporary files in ``directory`` that no live writer holds (a crashed upload's copy of a
    chat export, say); returns how many. Files younger than ``min_age_s`` are left alone."""
    cutoff = time.time() - min_age_s
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not entry.name.startswith(INCOMING_PREFIX) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime > cutoff or not _abandoned(entry.path):
                continue
            os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:
            continue
    return removed


@contextmanager
def write_hashed(directory: Path, src: Path | None, data: bytes | None) -> Iterator[tuple[str, str]]:
    """Copy ``data`` or the file ``src`` into a locked temporary file in ``directory`` while hashing it.

    Yields the sha256 key and the temporary path; the caller moves the file into place inside the block
    (what is still there on exit is deleted).
    """
    digest = hashlib.sha256()
    with incoming_file(directory) as (fd, tmp_name):
        with open(fd, "wb", closefd=False) as out:
            if data is not None:
                digest.update(data)
                out.write(data)
            else:
                assert src is not None
                with src.open("rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        yield digest.hexdigest(), tmp_name


class LocalBlobStore:
    """Stores each distinct content once; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def local_path(self, key: str) -> Path:
        """Where ``key`` lives on disk."""
        key = _valid_key(key)
        return self.root / key[:2] / key[2:4] / key

    def _put_from(self, src: Path | None, data: bytes | None) -> str:
        with write_hashed(self.root, src, data) as (key, tmp_name):
            dest = self.local_path(key)
            dest.parent.mkdir(parents=True, exist_ok=True)
            # Replace even when the content is already there: the rename is atomic, and the fresh modification
            # time tells the garbage collector that this content is being uploaded again right now.
            os.replace(tmp_name, dest)
            return key

    async def sweep_incoming(self) -> int:
        """Delete temporary files that crashed writes left behind; returns how many."""
        return await asyncio.to_thread(sweep_incoming, self.root)

    async def put_file(self, path: Path) -> str:
        """Store a file's content; returns its sha256 key."""
        return await asyncio.to_thread(self._put_from, path, None)

    async def put_bytes(self, data: bytes) -> str:
        """Store bytes; returns their sha256 key."""
        return await asyncio.to_thread(self._put_from, None, data)

    async def fetch_local(self, key: str) -> Path:
        """The local path (nothing to download)."""
        return self.local_path(key)

    async def get_bytes(self, key: str) -> bytes:
        """The bytes stored under ``key`` (``FileNotFoundError`` if absent)."""
        return await asyncio.to_thread(self.local_path(key).read_bytes)

    async def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        return self.local_path(key).exists()

    async def delete(self, key: str) -> None:
        """Delete ``key``; a missing key is fine."""
        self.local_path(key).unlink(missing_ok=True)

    async def keys(self) -> AsyncIterator[str]:
        """Every stored key, in order."""
        async for blob in self.list_blobs():
            yield blob.key

    async def list_blobs(self) -> AsyncIterator[StoredBlob]:
        """Every stored blob in key order, walking one top-level directory (1/256 of the keys) at a time."""
        tops = await asyncio.to_thread(self._shards, self.root)
        for top in tops:
            for blob in await asyncio.to_thread(self._list_top, top):
                yield blob

    @staticmethod
    def _shards(directory: Path) -> list[Path]:
        with os.scandir(directory) as entries:
            return sorted(
                Path(e.path) for e in entries if _is_shard(e.name) and e.is_dir(follow_symlinks=False)
            )

    def _list_top(self, top: Path) -> list[StoredBlob]:
        found: list[StoredBlob] = []
        for sub in self._shards(top):
            with os.scandir(sub) as entries:
                files = sorted((e for e in entries if is_blob_key(e.name)), key=lambda e: e.name)
            for entry in files:
                if entry.name[:2] != top.name or entry.name[2:4] != sub.name:
                    continue  # not where its key puts it: not ours
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # deleted while we listed
                    continue
                if entry.is_file(follow_symlinks=False):
                    modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                    found.append(StoredBlob(key=entry.name, size=stat.st_size, modified=modified))
        return found
