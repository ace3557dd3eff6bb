"""Every blob store passes the same contract: the local directory and an S3 bucket over real HTTP (moto)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from core.ports import BlobStore
from core.storage.ids import utcnow
from tests.support.s3 import age_blob, bucket_keys, s3_options, stored_blobs, stored_keys


async def test_put_get_and_dedupe(store: BlobStore, tmp_path: Path) -> None:
    key = await store.put_bytes("안녕 엄마".encode())
    assert key == hashlib.sha256("안녕 엄마".encode()).hexdigest()
    src = tmp_path / "same.txt"
    src.write_bytes("안녕 엄마".encode())
    assert await store.put_file(src) == key
    assert await store.put_bytes("안녕 엄마".encode()) == key
    assert await store.get_bytes(key) == "안녕 엄마".encode()
    assert await store.exists(key)
    assert await stored_keys(store) == [key]


async def test_keys_lists_each_distinct_blob(store: BlobStore) -> None:
    keys = {await store.put_bytes(f"blob {i}".encode()) for i in range(5)}
    assert len(keys) == 5
    assert sorted(await stored_keys(store)) == sorted(keys)


async def test_list_blobs_gives_each_key_its_size_and_time(store: BlobStore) -> None:
    before = utcnow().replace(microsecond=0)  # S3 keeps whole seconds
    sizes = {await store.put_bytes(b"x" * n): n for n in (1, 10, 1000)}
    after = utcnow()
    blobs = await stored_blobs(store)
    assert [b.key for b in blobs] == sorted(sizes)
    for blob in blobs:
        assert blob.size == sizes[blob.key]
        assert blob.modified.tzinfo is not None
        assert before - timedelta(seconds=1) <= blob.modified <= after + timedelta(seconds=1)
    assert [b.key for b in blobs] == await stored_keys(store)


async def test_storing_content_again_refreshes_its_time(store: BlobStore, tmp_path: Path) -> None:
    """The garbage collector must see a re-uploaded old blob as fresh: its reference is about to be written."""
    key = await store.put_bytes(b"the export, uploaded again")
    other = await store.put_bytes(b"left alone")
    long_ago = utcnow() - timedelta(days=3)
    for k in (key, other):
        age_blob(store, k, long_ago)
    assert all(abs(b.modified - long_ago) < timedelta(seconds=2) for b in await stored_blobs(store))
    src = tmp_path / "again.txt"
    src.write_bytes(b"the export, uploaded again")
    assert await store.put_file(src) == key
    times = {b.key: b.modified for b in await stored_blobs(store)}
    assert times[key] > utcnow() - timedelta(minutes=1)
    assert times[other] < utcnow() - timedelta(days=2)
    assert await store.get_bytes(key) == b"the export, uploaded again"


async def test_local_path_is_a_readable_file(store: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "audio.bin"
    src.write_bytes(bytes(range(256)) * 4000)  # ~1 MB, not a single read chunk
    key = await store.put_file(src)
    path = store.local_path(key)
    assert path.is_file() and path.read_bytes() == src.read_bytes()
    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not store.local_path(missing).exists()
    assert (await store.fetch_local(key)).read_bytes() == path.read_bytes()
    assert not (await store.fetch_local(missing)).exists()


async def test_delete_is_idempotent_and_complete(store: BlobStore) -> None:
    key = await store.put_bytes(b"to forget")
    keep = await store.put_bytes(b"to keep")
    path = store.local_path(key)
    await store.delete(key)
    await store.delete(key)
    assert not await store.exists(key)
    assert not path.exists()
    assert await stored_keys(store) == [keep]
    with pytest.raises(FileNotFoundError):
        await store.get_bytes(key)


async def test_rejects_keys_that_are_not_digests(store: BlobStore) -> None:
    with pytest.raises(ValueError):
        store.local_path("../../etc/passwd")
    with pytest.raises(ValueError):
        await store.exists("ab/../cd")


async def test_s3_replicas_share_blobs_and_deletion_is_authoritative(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    from core.storage.s3_blobs import S3BlobStore

    bot = S3BlobStore(s3_options(s3_endpoint, s3_bucket, tmp_path / "bot-cache"))
    worker = S3BlobStore(s3_options(s3_endpoint, s3_bucket, tmp_path / "worker-cache"))
    key = await bot.put_bytes(b"recording")
    assert bucket_keys(s3_endpoint, s3_bucket) == [f"blobs/{key}"]
    cached = worker.local_path(key)  # downloaded on first use into the worker's own cache
    assert cached.read_bytes() == b"recording"
    assert cached.is_relative_to(tmp_path / "worker-cache")
    assert not list((tmp_path / "worker-cache").rglob(".incoming-*"))
    await bot.delete(key)  # /forget_me on the bot: the worker's stale copy must not be served
    assert not worker.local_path(key).exists()
    assert not cached.exists()
    assert bucket_keys(s3_endpoint, s3_bucket) == []


async def test_s3_large_file_goes_up_in_parts(s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> None:
    from core.storage.s3_blobs import S3BlobStore

    store = S3BlobStore(s3_options(s3_endpoint, s3_bucket, tmp_path / "cache"))
    src = tmp_path / "long.wav"
    src.write_bytes(hashlib.sha256(b"seed").digest() * (10 * 1024 * 1024 // 32))  # 10 MiB: multipart
    key = await store.put_file(src)
    fresh = S3BlobStore(s3_options(s3_endpoint, s3_bucket, tmp_path / "other"))
    assert hashlib.sha256(await fresh.get_bytes(key)).hexdigest() == key


async def test_s3_listing_follows_every_page(s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> None:
    from core.storage.s3_blobs import S3BlobStore

    options = dataclasses.replace(s3_options(s3_endpoint, s3_bucket, tmp_path / "cache"), list_page_size=2)
    store = S3BlobStore(options)
    keys = sorted([await store.put_bytes(f"page {i}".encode()) for i in range(5)])
    assert [b.key for b in await stored_blobs(store)] == keys  # three pages of at most two
    assert await stored_keys(store) == keys
