"""Fixtures for these tests: a real S3 API over HTTP (moto) for the S3 blob store."""

from tests.support.s3 import s3_bucket, s3_endpoint  # noqa: F401
