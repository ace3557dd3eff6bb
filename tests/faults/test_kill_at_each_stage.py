"""kill -9 of ``vos meeting import`` at each stage of the import, then recovery without ``vos run``: the next
process that runs jobs (here the next ``vos meeting import``, through the CLI's own local runner) takes the
killed job over and finishes the meeting. A job a live process is running is never taken; a job killed on
its last attempt is failed, and its meeting with it, instead of staying ``processing`` forever."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.core.meetings.fakes import write_wav

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
STAGES = ("decode", "separate", "transcribe", "summarize", "index")


def _vos(tmp_path: Path, crash_at: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOS_")}
    env.update(VOS_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "tests.faults.crashing_vos", crash_at, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    async def read() -> list[tuple[object, ...]]:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'vos.db'}")
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(text(sql))).all()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize("stage", STAGES)
def test_a_meeting_import_killed_at_a_stage_is_finished_by_the_next_cli_run(
    tmp_path: Path, stage: str
) -> None:
    first = write_wav(tmp_path / "weekly.wav", 25)
    killed = _vos(tmp_path, stage, "meeting", "import", str(first), "--title", "weekly", "--json")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _rows(tmp_path, "SELECT status, progress_text FROM meetings") == [("processing", stage)]
    assert _rows(tmp_path, "SELECT status, attempts FROM jobs") == [("running", 1)]

    second = write_wav(tmp_path / "standup.wav", 25, seed=1)
    ran = _vos(tmp_path, "none", "meeting", "import", str(second), "--title", "standup", "--json")
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert json.loads(ran.stdout.strip().splitlines()[-1])["status"] == "done"
    meetings = dict(_rows(tmp_path, "SELECT title, status FROM meetings"))
    assert meetings == {"weekly": "done", "standup": "done"}
    assert sorted(_rows(tmp_path, "SELECT status, attempts FROM jobs")) == [("done", 1), ("done", 2)]
    segments = _rows(tmp_path, "SELECT count(*) FROM meeting_segments GROUP BY meeting_id")
    assert sorted(segments) == [(5,), (5,)]  # replaced on the re-run, never appended twice


def test_a_job_killed_on_its_last_attempt_fails_with_its_meeting(tmp_path: Path) -> None:
    first = write_wav(tmp_path / "weekly.wav", 25)
    assert _vos(tmp_path, "transcribe", "meeting", "import", str(first)).returncode == -9
    second = write_wav(tmp_path / "standup.wav", 25, seed=1)
    assert _vos(tmp_path, "transcribe", "meeting", "import", str(second)).returncode == -9  # the takeover
    third = write_wav(tmp_path / "retro.wav", 25, seed=2)
    ran = _vos(tmp_path, "none", "meeting", "import", str(third), "--title", "retro")
    assert ran.returncode == 0, ran.stderr[-2000:]
    meetings = dict(_rows(tmp_path, "SELECT title, status FROM meetings"))
    # weekly was killed twice (the second run took it over first, one job at a time): failed, not
    # processing forever; standup, queued behind it when that run died, was taken over by the third
    assert meetings == {"weekly": "failed", "standup": "done", "retro": "done"}
    jobs = dict(
        _rows(
            tmp_path,
            "SELECT m.title, j.status || ':' || j.attempts FROM jobs j JOIN meetings m "
            "ON j.payload LIKE '%' || m.id || '%'",
        )
    )
    assert jobs == {"weekly": "failed:2", "standup": "done:1", "retro": "done:1"}
