"""Run slow work while a flow keeps yielding ``ShowProgress`` updates from its progress callback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.domain.actions import Action, ShowProgress
from core.ports import ProgressCallback

T = TypeVar("T")


@dataclass(slots=True)
class Outcome(Generic[T]):
    """Where ``with_progress`` leaves the work's result (an async generator cannot return one)."""

    value: T | None = None


async def with_progress(
    work: Callable[[ProgressCallback], Awaitable[T]],
    outcome: Outcome[T],
    *,
    progress_id: str,
    describe: Callable[[str], str],
) -> AsyncGenerator[Action, None]:
    """Await ``work(report)``; each ``report(fraction, word)`` becomes one ``ShowProgress`` as it happens.

    The work is awaited here (never left running): closing the generator early cancels it, and its
    exception propagates to the caller.
    """
    queue: asyncio.Queue[tuple[float, str]] = asyncio.Queue()

    def report(fraction: float, word: str) -> None:
        queue.put_nowait((fraction, word))

    task = asyncio.ensure_future(work(report))
    getter: asyncio.Future[tuple[float, str]] | None = None
    try:
        while not (task.done() and queue.empty()):
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                fraction, word = getter.result()
                yield ShowProgress(progress_id=progress_id, text=describe(word), fraction=fraction)
            else:
                getter.cancel()
        outcome.value = task.result()
    finally:
        if getter is not None and not getter.done():
            getter.cancel()
        if not task.done():
            task.cancel()
