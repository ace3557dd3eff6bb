"""A real S3 API over HTTP on 127.0.0.1 (moto's server), and a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.ports import BlobStore, StoredBlob
from core.storage.s3_blobs import S3BlobOptions
from tests.support.extras import need

# moto accepts any credentials; explicit ones keep boto3 from reading the developer's ~/.aws
ACCESS_KEY = "vos-test"
SECRET_KEY = "vos-test-secret"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server running in this process (skipped without moto[server] and boto3)."""
    need("boto3")
    server_mod = need("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A bucket name no other test uses (the store creates it on first use)."""
    return f"vos-test-{uuid.uuid4().hex[:12]}"


def s3_options(endpoint: str, bucket: str, cache_dir: Path) -> S3BlobOptions:
    """Options for an :class:`S3BlobStore` on the test server."""
    return S3BlobOptions(
        bucket=bucket,
        cache_dir=cache_dir,
        endpoint_url=endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )


def s3_settings(endpoint: str, bucket: str) -> dict[str, object]:
    """Settings overrides that select the S3 blob backend on the test server."""
    return {
        "blobs": {
            "backend": "s3",
            "endpoint_url": endpoint,
            "bucket": bucket,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        }
    }


def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    """Every object key in the bucket, read with a separate boto3 client (what is really there)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    page = client.list_objects_v2(Bucket=bucket)
    return [str(item["Key"]) for item in page.get("Contents", [])]


async def stored_keys(store: BlobStore) -> list[str]:
    """Every key a blob store lists, in order."""
    return [key async for key in store.keys()]


def age_object(bucket: str, name: str, when: datetime) -> None:
    """Backdate an object's last-modified time in the moto server (it runs in this process)."""
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket]
    fake = s3_backends[account][partition].get_bucket(bucket).keys[name]
    fake.last_modified = when.astimezone(UTC).replace(tzinfo=None)  # moto keeps naive UTC


def age_blob(store: BlobStore, key: str, when: datetime) -> None:
    """Make a stored blob look as if it had been stored at ``when`` (local file time, or the S3 object's)."""
    import os

    from core.storage.blobs import LocalBlobStore
    from core.storage.s3_blobs import S3BlobStore

    if isinstance(store, LocalBlobStore):
        stamp = when.timestamp()
        os.utime(store.local_path(key), (stamp, stamp))
    elif isinstance(store, S3BlobStore):
        age_object(store.options.bucket, store.options.prefix + key, when)
    else:
        raise TypeError(f"cannot age blobs of {type(store).__name__}")


async def stored_blobs(store: BlobStore) -> list[StoredBlob]:
    """Every blob a store lists, in order."""
    return [blob async for blob in store.list_blobs()]
