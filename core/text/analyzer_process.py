"""Morpheme analysis of a large import in a child process, with the child's own analyzer.

In the bot's process the import's analysis held the GIL and the shared analyzer's lock, and every other
user's chat turn waited for it at each hop (p95 16x its latency alone during the memory cut of a
100,000-message import). The child (``core.child_process``) loads its own ``kiwipiepy`` model (about
330 MB while the import runs, 1-2 s to start) and answers one batch of texts at a time, with the same tokens
the bot's analyzer gives (same model, same settings, same filter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core.child_process import ChildProcess, ChildProcessError


def _analyzer() -> Callable[[list[str]], list[list[str]]]:
    """The child's worker: its own shared analyzer's ``many``."""
    from core.text.morphemes import shared_analyzer

    return shared_analyzer().many


class AnalyzerProcessError(ChildProcessError):
    """The analyzer's child process failed or died."""


class AnalyzerProcess(ChildProcess):
    """One child process analyzing texts for an import; ``close`` (always) ends it."""

    error = AnalyzerProcessError

    def __init__(self) -> None:
        super().__init__(_analyzer, name="vos-morphemes")

    async def many(self, texts: Sequence[str]) -> list[list[str]]:
        """The content morphemes of each text (one batch at a time: await each call before the next)."""
        tokens: Any = await self.call(list(texts))
        return list(tokens)
