"""A content-addressed blob store on any S3-compatible object store (AWS S3, MinIO, Ceph, R2...).

Objects live under ``<prefix><sha256>`` in one bucket, so the bot and every worker read the same blobs.
Engines read files, so :meth:`S3BlobStore.local_path` keeps a local read-through cache: a blob is downloaded
on first use (to a temp file, then renamed, so a reader never sees half a file). Deletion is authoritative
in the bucket: before a cached copy is handed out its object is checked, and a copy whose object another
replica deleted (``/forget_me``) is removed instead of served. boto3 is blocking, so every call runs in a
thread; boto3 clients are thread-safe.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.ports import EngineUnavailable, StoredBlob
from core.storage.blobs import _valid_key, incoming_file, is_blob_key, sweep_incoming, write_hashed

_CHUNK = 1 << 20
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


@dataclass(frozen=True, slots=True, kw_only=True)
class S3BlobOptions:
    """Where the bucket is and how to reach it; ``cache_dir`` holds the local read-through copies."""

    bucket: str
    cache_dir: Path
    endpoint_url: str | None = None  # None: AWS itself
    region: str = "us-east-1"
    access_key: str | None = None  # None: boto3's own credential chain (env, profile, instance role)
    secret_key: str | None = None
    prefix: str = "blobs/"
    create_bucket: bool = True
    timeout_s: float = 30.0
    list_page_size: int = 1000  # keys per listing request (S3 answers at most 1000)


def _is_missing(exc: Exception) -> bool:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")) in _MISSING


class S3BlobStore:
    """The :class:`core.ports.BlobStore` protocol on an S3 bucket, with a local read-through cache."""

    def __init__(self, options: S3BlobOptions) -> None:
        self.options = options
        self.cache = options.cache_dir
        self.cache.mkdir(parents=True, exist_ok=True)
        self._client: Any = None
        self._client_lock = threading.Lock()

    # --- the boto3 client (built lazily, once; the bucket is created on first use when allowed) ---------

    def _s3(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> Any:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise EngineUnavailable("the S3 blob store needs boto3", extra="s3") from None
        opts = self.options
        client = boto3.client(
            "s3",
            endpoint_url=opts.endpoint_url,
            region_name=opts.region,
            aws_access_key_id=opts.access_key,
            aws_secret_access_key=opts.secret_key,
            config=Config(
                connect_timeout=opts.timeout_s,
                read_timeout=opts.timeout_s,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path"},  # MinIO and most self-hosted stores want path style
            ),
        )
        if opts.create_bucket:
            try:
                client.head_bucket(Bucket=opts.bucket)
            except Exception as exc:
                if not _is_missing(exc):
                    raise
                kwargs: dict[str, Any] = {"Bucket": opts.bucket}
                if opts.region != "us-east-1":
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": opts.region}
                client.create_bucket(**kwargs)
        return client

    def _object(self, key: str) -> str:
        return self.options.prefix + _valid_key(key)

    def _head(self, key: str) -> bool:
        try:
            self._s3().head_object(Bucket=self.options.bucket, Key=self._object(key))
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def _list_page(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        page: dict[str, Any] = self._s3().list_objects_v2(**kwargs)
        return page

    def _touch(self, key: str) -> bool:
        """Refresh an object's last-modified time (an in-place copy); False when the object is not there."""
        name = self._object(key)
        try:
            self._s3().copy_object(
                Bucket=self.options.bucket,
                Key=name,
                CopySource={"Bucket": self.options.bucket, "Key": name},
                MetadataDirective="REPLACE",  # S3 refuses an in-place copy that changes nothing
            )
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    # --- the local cache ---------------------------------------------------------------------------------

    def _cache_path(self, key: str) -> Path:
        key = _valid_key(key)
        return self.cache / key[:2] / key[2:4] / key

    def _download(self, key: str) -> Path:
        """The cached copy of ``key``, fetched when absent; a missing object removes any stale copy."""
        dest = self._cache_path(key)
        if not self._head(key):
            dest.unlink(missing_ok=True)
            return dest
        if dest.exists():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        # In the cache's top folder, locked while it downloads: where sweep_incoming finds a crashed one.
        with incoming_file(self.cache) as (_fd, tmp):
            try:
                self._s3().download_file(self.options.bucket, self._object(key), tmp)
                os.replace(tmp, dest)
            except Exception as exc:
                if not _is_missing(exc):
                    raise
        return dest

    def _put_from(self, src: Path | None, data: bytes | None) -> str:
        """Copy into the cache while hashing, upload unless the bucket has it, then keep the cached copy."""
        with write_hashed(self.cache, src, data) as (key, tmp):
            # Content already in the bucket is not sent again, but its time is refreshed: the garbage
            # collector must see it as a fresh upload whose reference is about to be written.
            if not self._touch(key):
                # upload_file streams (multipart above 8 MB) instead of holding the file in memory
                self._s3().upload_file(tmp, self.options.bucket, self._object(key))
            dest = self._cache_path(key)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
            return key

    async def sweep_incoming(self) -> int:
        """Delete temporary files (uploads, downloads) that crashed writes left in the cache."""
        return await asyncio.to_thread(sweep_incoming, self.cache)

    # --- the BlobStore protocol -----------------------------------------------------------------------

    async def fetch_local(self, key: str) -> Path:
        """``local_path`` off the event loop (the first use downloads)."""
        return await asyncio.to_thread(self._download, key)

    def local_path(self, key: str) -> Path:
        """A readable local file for ``key`` (downloaded on first use; blocking, as the protocol is sync).

        Like the local store, a key that is not stored gives a path that does not exist.
        """
        return self._download(key)

    async def put_file(self, path: Path) -> str:
        """Store a file's content; returns its sha256 key."""
        return await asyncio.to_thread(self._put_from, path, None)

    async def put_bytes(self, data: bytes) -> str:
        """Store bytes; returns their sha256 key."""
        return await asyncio.to_thread(self._put_from, None, data)

    async def get_bytes(self, key: str) -> bytes:
        """The bytes stored under ``key`` (``FileNotFoundError`` if absent)."""

        def read() -> bytes:
            path = self._download(key)
            if not path.exists():
                raise FileNotFoundError(f"no blob {key}")
            return path.read_bytes()

        return await asyncio.to_thread(read)

    async def exists(self, key: str) -> bool:
        """Whether ``key`` is stored in the bucket."""
        return await asyncio.to_thread(self._head, key)

    async def delete(self, key: str) -> None:
        """Delete ``key`` from the bucket and the local cache; a missing key is fine."""

        def remove() -> None:
            self._s3().delete_object(Bucket=self.options.bucket, Key=self._object(key))
            self._cache_path(key).unlink(missing_ok=True)

        await asyncio.to_thread(remove)

    async def keys(self) -> AsyncIterator[str]:
        """Every stored key, in order."""
        async for blob in self.list_blobs():
            yield blob.key

    async def list_blobs(self) -> AsyncIterator[StoredBlob]:
        """Every stored blob in key order, one ``list_objects_v2`` page at a time."""
        prefix = self.options.prefix
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "Bucket": self.options.bucket,
                "Prefix": prefix,
                "MaxKeys": self.options.list_page_size,
            }
            if token:
                kwargs["ContinuationToken"] = token
            page: dict[str, Any] = await asyncio.to_thread(self._list_page, kwargs)
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(prefix) :]
                if is_blob_key(name):
                    modified: datetime = item["LastModified"]  # botocore parses it timezone-aware (UTC)
                    if modified.tzinfo is None:
                        modified = modified.replace(tzinfo=UTC)
                    yield StoredBlob(key=name, size=int(item.get("Size", 0)), modified=modified)
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")
