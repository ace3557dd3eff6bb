"""``with_progress``: updates arrive while the work runs, the result comes back, errors propagate."""

from __future__ import annotations

import asyncio

import pytest

from core.domain.actions import ShowProgress
from core.flows.progress import Outcome, with_progress
from core.ports import ProgressCallback


async def test_progress_updates_then_the_result() -> None:
    async def work(report: ProgressCallback) -> str:
        for i in range(3):
            report(i / 2, f"step{i}")
            await asyncio.sleep(0)
        return "done"

    outcome: Outcome[str] = Outcome()
    actions = [a async for a in with_progress(work, outcome, progress_id="p", describe=str.upper)]
    assert actions == [ShowProgress(progress_id="p", text=f"STEP{i}", fraction=i / 2) for i in range(3)]
    assert outcome.value == "done"


async def test_errors_of_the_work_reach_the_caller() -> None:
    async def work(report: ProgressCallback) -> str:
        report(0.1, "x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        async for _ in with_progress(work, Outcome(), progress_id="p", describe=str):
            pass
