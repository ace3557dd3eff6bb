"""/voice with ``VOS_JOBS__BACKEND=redis``: the speaker separation runs on a ``vos worker`` process, which
reads the recording from the shared blob store, and the bot continues from the job's result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.wiring import App, running_app
from core.flows.voice_jobs import VOICE_SEPARATE
from core.storage import models
from tests.core.flows.test_voice_setup import _flow, _keep_low_voice, _star
from tests.core.flows.voice_fakes import FakeDiarizer, fake_engines
from tests.core.jobs.redis_support import Workers
from tests.support.app import ScriptedConsole, make_settings

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
async def redis_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_db_url: str, redis_url: str, namespace: str
) -> AsyncIterator[App]:
    """The bot side: jobs go to the Redis queue, nothing runs them in this process."""
    monkeypatch.chdir(tmp_path)
    jobs = {"backend": "redis", "redis_url": redis_url, "queue": namespace, "lease_s": 30}
    settings = make_settings(tmp_path, database_url=shared_db_url, jobs=jobs)
    async with running_app(settings, use_settings_model=False) as app:
        yield app


async def test_voice_separation_runs_on_a_worker(
    redis_app: App, tmp_path: Path, shared_db_url: str, redis_url: str, namespace: str
) -> None:
    # One blob store for the bot and the worker, as an S3 bucket is in production; separate data dirs.
    (tmp_path / "data" / "blobs").mkdir(parents=True, exist_ok=True)
    (tmp_path / "worker-data").mkdir()
    (tmp_path / "worker-data" / "blobs").symlink_to(tmp_path / "data" / "blobs")
    workers = Workers(
        tmp_path, shared_db_url, redis_url, namespace, 30, jobs_module="tests.core.jobs.voice_worker_jobs"
    )
    [proc] = workers.start(1)
    try:
        _flow(redis_app).engines = engines = fake_engines()
        await _star(redis_app)
        console = ScriptedConsole(redis_app)
        try:
            out = await asyncio.wait_for(_keep_low_voice(redis_app, tmp_path, console), 120)
        except TimeoutError:
            pytest.fail(f"the worker never answered:\n{workers.logs()[-3000:]}")
        assert "화자 1 · 9.0초" in out and "어느 목소리가 엄마인가요?" in out, workers.logs()[-3000:]
        assert "목소리를 듣는 중" in out  # the worker's progress reached the chat
        assert isinstance(engines.diarizer, FakeDiarizer) and engines.diarizer.calls == []

        async with redis_app.db.read() as s:
            [job] = (await s.scalars(select(models.JobRow))).all()
        assert job.kind == VOICE_SEPARATE and job.status == "done"
        assert job.result is not None and job.result["engine"] == f"fake-pid-{proc.pid}"
        assert [t[2] for t in job.result["turns"]] == ["S1", "S2", "S1", "S2", "S1"]  # type: ignore[index]
        # The worker decoded the blob and kept no samples behind (no flow there would delete them).
        assert not list((tmp_path / "worker-data").glob("voice_cache/**/*.npy"))

        out = await console.say("1")
        assert "목소리를 간직했어요" in out
    finally:
        workers.stop()
