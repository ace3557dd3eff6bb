"""User files on their way in: names that cannot escape a folder, size limits, short-lived folders."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.\- ]+")


class FileTooBig(Exception):
    """A file is over a download limit; ``size`` may be 0 when the platform only said "too big"."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file of {size} bytes is over the {limit} bytes limit")
        self.size = size
        self.limit = limit

    def size_mb(self, unit: int) -> str:
        """The size in ``unit`` (MB or MiB) with one decimal, "?" when unknown; for the user's message."""
        return f"{self.size / unit:.1f}" if self.size else "?"


def safe_filename(name: str) -> str:
    """A file name that cannot escape its folder (user-supplied names are data, not paths)."""
    cleaned = _UNSAFE.sub("_", Path(name).name).strip(". ")
    return cleaned[:120] or "file"


async def make_folder(base: Path | None, prefix: str) -> Path:
    """A new private temporary folder under ``base`` (the system's temporary folder when None)."""
    if base is not None:
        await asyncio.to_thread(base.mkdir, parents=True, exist_ok=True)
    return Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=prefix, dir=base))


async def remove_folder(folder: Path) -> None:
    """Delete a temporary folder and what is in it."""
    await asyncio.to_thread(shutil.rmtree, folder, True)


@asynccontextmanager
async def scope(base: Path | None, prefix: str) -> AsyncIterator[Path]:
    """A temporary folder for one event's files, removed afterwards whatever happened."""
    folder = await make_folder(base, prefix)
    try:
        yield folder
    finally:
        await remove_folder(folder)
