"""Fixtures for these tests: each blob store, a real S3 API over HTTP (moto), and the test Redis server."""

from pathlib import Path

import pytest

from core.ports import BlobStore
from core.storage.blobs import LocalBlobStore
from tests.support.redis import redis_url  # noqa: F401
from tests.support.s3 import s3_bucket, s3_endpoint, s3_options  # noqa: F401


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Each blob backend, empty."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    from core.storage.s3_blobs import S3BlobStore

    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return S3BlobStore(s3_options(endpoint, bucket, tmp_path / "cache"))
