"""Job kinds for the job-system tests, loadable by a worker process (``vos worker --jobs-module``).

``steps`` sleeps in steps and records each step in a table keyed by (job id, step) with the process id,
an idempotent write: a re-run after a worker died inserts only the steps that were missing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text

from core.jobs.registry import JobContext, JobRegistry
from core.storage.db import Database

EFFECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS test_job_effects "
    "(job_id VARCHAR(32) NOT NULL, step INTEGER NOT NULL, pid INTEGER NOT NULL, PRIMARY KEY (job_id, step))"
)


async def create_effects_table(db: Database) -> None:
    """The table the ``steps`` job writes to (test-only; not part of the schema)."""
    async with db.write() as s:
        await s.execute(text(EFFECTS_DDL))


async def effects(db: Database, job_id: str) -> list[tuple[int, int]]:
    """(step, pid) rows recorded for a job."""
    async with db.read() as s:
        rows = await s.execute(
            text("SELECT step, pid FROM test_job_effects WHERE job_id = :j ORDER BY step"), {"j": job_id}
        )
        return [(int(r[0]), int(r[1])) for r in rows]


def steps_handler(db: Database) -> Any:
    """The ``steps`` kind: payload ``{"steps": n, "delay": seconds, "fail_at": step or None}``."""

    async def steps(ctx: JobContext, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        n, delay = int(payload["steps"]), float(payload.get("delay", 0.05))
        for step in range(n):
            await ctx.progress(step / n, f"step {step}")
            if payload.get("fail_at") == step:
                raise ValueError(f"broken at step {step}")
            async with db.write() as s:
                await s.execute(
                    text(
                        "INSERT INTO test_job_effects (job_id, step, pid) VALUES (:j, :s, :p) "
                        "ON CONFLICT DO NOTHING"
                    ),
                    {"j": ctx.job_id, "s": step, "p": os.getpid()},
                )
            await asyncio.sleep(delay)
        return {"steps": n, "pid": os.getpid()}

    return steps


def register_jobs(registry: JobRegistry, app: Any) -> None:
    """Entry point for ``vos worker --jobs-module tests.core.jobs.sample_jobs``."""
    registry.register("steps", steps_handler(app.db))
