"""End to end with blobs in an S3 bucket (moto over HTTP): export, forget, forget_me leave the bucket empty."""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.demo import DEMO_EXPORT
from bot.runner import ensure_demo_star, local_user
from bot.wiring import App, running_app
from tests.support.app import ScriptedConsole, make_settings, saved_path
from tests.support.s3 import bucket_keys, s3_settings, stored_keys


@pytest.fixture
async def s3_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str, s3_bucket: str
) -> AsyncIterator[App]:
    """A migrated app whose blob store is the test bucket."""
    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path, **s3_settings(s3_endpoint, s3_bucket))
    async with running_app(settings, use_settings_model=False) as app:
        yield app


async def test_export_forget_and_forget_me_empty_the_bucket(
    s3_app: App, s3_endpoint: str, s3_bucket: str
) -> None:
    from core.storage.s3_blobs import S3BlobStore

    assert isinstance(s3_app.blobs, S3BlobStore)
    console = ScriptedConsole(s3_app)
    user = await local_user(s3_app, "local")
    await ensure_demo_star(s3_app, user)
    await console.say("밥 먹었어?")
    stored = bucket_keys(s3_endpoint, s3_bucket)
    assert stored and all(k.startswith("blobs/") for k in stored)  # the export went to the bucket

    out = await console.say("/export")
    zip_path = saved_path(out)
    with zipfile.ZipFile(zip_path) as zf:
        uploads = [n for n in zf.namelist() if n.startswith("uploads/")]
        assert uploads and "밥" in zf.read(uploads[0]).decode("utf-8")  # read back through the cache

    out = await console.say("/forget", "1")
    assert "삭제했어요" in out
    assert bucket_keys(s3_endpoint, s3_bucket) == []

    await ensure_demo_star(s3_app, user)
    assert bucket_keys(s3_endpoint, s3_bucket)
    out = await console.say("/forget_me", "1")
    assert "모든 데이터를 삭제했어요" in out
    assert bucket_keys(s3_endpoint, s3_bucket) == []
    assert await stored_keys(s3_app.blobs) == []
    assert not [p for p in (s3_app.settings.data_dir / "blob_cache").rglob("*") if p.is_file()]


async def test_a_cancelled_new_leaves_nothing_in_the_bucket_at_once(
    s3_app: App, s3_endpoint: str, s3_bucket: str
) -> None:
    console = ScriptedConsole(s3_app)
    await console.say("/new", "1", "엄마", "어머니", "1", "1", "1")  # ... and skip the photo
    out = await console.say(f"/file {DEMO_EXPORT}")
    assert "엄마 (" in out
    assert len(bucket_keys(s3_endpoint, s3_bucket)) == 1
    assert (await s3_app.blob_gc.collect(grace=timedelta(0))).deleted == 0  # the open dialog holds it
    await console.say("/cancel")
    assert bucket_keys(s3_endpoint, s3_bucket) == []  # no collector run needed
    assert (await s3_app.blob_gc.collect(grace=timedelta(0))).scanned == 0
    assert not [p for p in (s3_app.settings.data_dir / "blob_cache").rglob("*") if p.is_file()]
