"""A content-addressed blob store on the local disk: files under ``<root>/ab/cd/<sha256>``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

_CHUNK = 1 << 20


def _valid_key(key: str) -> str:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a blob key: {key[:80]!r}")
    return key


def write_hashed(directory: Path, src: Path | None, data: bytes | None) -> tuple[str, str]:
    """Copy ``data`` or the file ``src`` into a temporary file in ``directory`` while hashing it.

    Returns the sha256 key and the temporary path; the caller moves the file into place or deletes it.
    """
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            if data is not None:
                digest.update(data)
                out.write(data)
            else:
                assert src is not None
                with src.open("rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
    except BaseException:
        os.unlink(tmp_name)
        raise
    return digest.hexdigest(), tmp_name


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
        key, tmp_name = write_hashed(self.root, src, data)
        try:
            dest = self.local_path(key)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, dest)
            return key
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)

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
        """Every stored key."""
        for path in sorted(self.root.glob("??/??/*")):
            if path.is_file() and len(path.name) == 64:
                yield path.name
