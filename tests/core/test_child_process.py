"""A child process answers callers in turn, and is not used again after a call cut off mid-request."""

from __future__ import annotations

import asyncio
import functools
import time

import pytest

from core.child_process import ChildProcess, ChildProcessError


async def test_callers_waiting_together_each_get_their_own_answer() -> None:
    child = ChildProcess(functools.partial(getattr, str, "upper"), name="vos-test-upper")
    await child.start()
    try:
        answers = await asyncio.gather(*(child.call(word) for word in ("밥", "rain", "garden", "ok")))
    finally:
        await child.close()
    assert answers == ["밥", "RAIN", "GARDEN", "OK"]


async def test_a_call_cancelled_mid_request_retires_the_child() -> None:
    child = ChildProcess(functools.partial(functools.partial, time.sleep), name="vos-test-sleep")
    await child.start()
    try:
        assert await child.call(0) is None
        slow = asyncio.ensure_future(child.call(2.0))
        await asyncio.sleep(0.3)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        with pytest.raises(ChildProcessError, match="interrupted"):
            await child.call(0)  # its answer would have been the slow call's
    finally:
        await child.close()
