"""Which child processes a test's code started (``core.child_process``), without changing what they do."""

from __future__ import annotations

from typing import TypeVar

import pytest

from core.child_process import ChildProcess

T = TypeVar("T", bound=ChildProcess)


def record_starts(monkeypatch: pytest.MonkeyPatch, kind: type[T]) -> list[T]:
    """The ``kind`` processes started from now on, in order; each still starts for real."""
    started: list[T] = []
    original = kind.start

    async def start(self: T) -> None:
        started.append(self)
        await original(self)

    monkeypatch.setattr(kind, "start", start)
    return started
