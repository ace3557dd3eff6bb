"""Fixtures for these tests: a real S3 API over HTTP (moto), and the test Redis server."""

from tests.support.redis import redis_url  # noqa: F401
from tests.support.s3 import s3_bucket, s3_endpoint  # noqa: F401
