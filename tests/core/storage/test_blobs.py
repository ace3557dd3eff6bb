"""The content-addressed blob store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.storage.blobs import LocalBlobStore


async def test_put_get_delete_and_dedupe(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    key = await store.put_bytes(b"hello")
    assert key == hashlib.sha256(b"hello").hexdigest()
    src = tmp_path / "f.bin"
    src.write_bytes(b"hello")
    assert await store.put_file(src) == key
    assert await store.get_bytes(key) == b"hello"
    assert [k async for k in store.keys()] == [key]
    await store.delete(key)
    await store.delete(key)
    assert not await store.exists(key)
    assert not list((tmp_path / "blobs").glob(".incoming-*"))


async def test_rejects_path_traversal_keys(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(ValueError):
        store.local_path("../../etc/passwd")


async def test_listing_skips_what_is_not_a_stored_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    key = await store.put_bytes(b"kept")
    (tmp_path / "blobs" / ".incoming-x").write_bytes(b"half an upload")
    misplaced = hashlib.sha256(b"elsewhere").hexdigest()
    (tmp_path / "blobs" / key[:2] / key[2:4] / misplaced).write_bytes(b"elsewhere")
    (tmp_path / "blobs" / key[:2] / key[2:4] / "notes.txt").write_bytes(b"x")
    (tmp_path / "blobs" / "zz").mkdir()
    assert [b.key async for b in store.list_blobs()] == [key]
