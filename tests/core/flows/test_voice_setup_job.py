"""/voice separates the recording in a ``voice_separate`` job (here the default runner, in the bot process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runner import local_user
from bot.wiring import App
from core.flows.voice_jobs import VOICE_SEPARATE, separation_key, separation_payload, unavailable
from core.jobs.ports import JobStatus
from core.ports import EngineUnavailable
from core.storage import models
from core.voice.separation import SeparationResult
from tests.core.flows.test_voice_setup import _counts, _flow, _keep_low_voice, _star
from tests.core.flows.voice_fakes import FakeDiarizer, fake_engines
from tests.support.app import ScriptedConsole


async def _jobs(app: App) -> list[models.JobRow]:
    async with app.db.read() as s:
        return list((await s.scalars(select(models.JobRow).order_by(models.JobRow.created_at))).all())


async def test_separation_runs_as_a_job_whose_result_the_flow_continues_from(
    vos_app: App, tmp_path: Path
) -> None:
    _flow(vos_app).engines = engines = fake_engines()
    star = await _star(vos_app)
    out = await _keep_low_voice(vos_app, tmp_path, ScriptedConsole(vos_app))
    assert "화자 1 · 9.0초" in out and "어느 목소리가 엄마인가요?" in out

    [job] = await _jobs(vos_app)
    user = await local_user(vos_app, "local")
    assert job.kind == VOICE_SEPARATE and job.status == "done" and job.owner_id == user.id
    recording_id = job.payload["recording_id"]
    assert job.payload == separation_payload(
        user_id=user.id, star_id=star.id, recording_id=str(recording_id), count=2
    )
    assert job.result is not None
    turns = job.result["turns"]
    assert isinstance(turns, list) and [t[2] for t in turns] == ["S1", "S2", "S1", "S2", "S1"]
    assert all(isinstance(t[0], float) and t[1] > t[0] for t in turns)
    result = SeparationResult.from_data(job.result)
    assert [s.label for s in result.speakers] == ["S1", "S2"] and result.engine == "fake"
    assert result.from_data(result.to_data()) == result

    # A redelivered answer submits the same job again: it is found done and does not run twice.
    again = await vos_app.jobs.submit(
        VOICE_SEPARATE,
        dict(job.payload),
        owner_id=user.id,
        idempotency_key=separation_key(str(recording_id), 2),
    )
    assert again == job.id
    assert [u.status async for u in vos_app.jobs.watch(again)] == [JobStatus.DONE]
    assert isinstance(engines.diarizer, FakeDiarizer) and engines.diarizer.calls == [2]


async def test_an_unavailable_engine_fails_the_job_and_ends_the_flow_naming_its_extra(
    vos_app: App, tmp_path: Path
) -> None:
    flow = _flow(vos_app)
    flow.engines = fake_engines()
    flow.engines.diarizer = FakeDiarizer(error=EngineUnavailable("pyannote needs a token", extra="pyannote"))
    await _star(vos_app)
    out = await _keep_low_voice(vos_app, tmp_path, ScriptedConsole(vos_app))
    assert "pyannote needs a token" in out and "'pyannote'" in out and "[pyannote]" not in out
    assert "어느 목소리가" not in out
    [job] = await _jobs(vos_app)
    assert job.status == "failed" and unavailable(job.error) is not None
    assert (await _counts(vos_app))["flows"] == 0


async def test_a_failed_separation_apologises_and_answering_again_reruns_the_same_job(
    vos_app: App, tmp_path: Path
) -> None:
    flow = _flow(vos_app)
    flow.engines = fake_engines()
    broken = FakeDiarizer(error=RuntimeError("out of memory"))
    flow.engines.diarizer = broken
    await _star(vos_app)
    console = ScriptedConsole(vos_app)
    out = await _keep_low_voice(vos_app, tmp_path, console)
    assert "참조:" in out and "어느 목소리가" not in out  # the generic apology, as before jobs
    [failed] = await _jobs(vos_app)
    assert failed.status == "failed" and "out of memory" in (failed.error or "")
    assert (await _counts(vos_app))["flows"] == 1  # still asking how many people speak

    flow.engines.diarizer = fixed = FakeDiarizer()
    out = await console.say("2")
    assert "어느 목소리가 엄마인가요?" in out
    [job] = await _jobs(vos_app)
    assert job.id == failed.id and job.status == "done" and job.error is None
    assert broken.calls == [2] and fixed.calls == [2]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("EngineUnavailable: [pyannote] no token", ("no token", "pyannote")),
        ("EngineUnavailable: no model", ("no model", None)),
        ("RuntimeError: boom", None),
        (None, None),
    ],
)
def test_unavailable_reads_the_error_text_of_a_failed_job(
    error: str | None, expected: tuple[str, str | None] | None
) -> None:
    found = unavailable(error)
    assert (None if found is None else (found.message, found.extra)) == expected
