"""Attachments to local files: size checked before download, one temporary folder per use."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from core.domain.events import IncomingFile

_UNSAFE = re.compile(r"[^\w.\- ]+")


class FileTooBig(Exception):
    """An attachment is over the download limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file of {size} bytes is over the {limit} bytes limit")
        self.size = size
        self.limit = limit


def safe_filename(name: str) -> str:
    """A file name that cannot escape its folder (user-supplied names are data, not paths)."""
    cleaned = _UNSAFE.sub("_", Path(name).name).strip(". ")
    return cleaned[:120] or "file"


async def make_folder(base: Path) -> Path:
    """A new private temporary folder under ``base``."""
    await asyncio.to_thread(base.mkdir, parents=True, exist_ok=True)
    return Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="vos-dc-", dir=base))


async def remove_folder(folder: Path) -> None:
    """Delete a temporary folder and what is in it."""
    await asyncio.to_thread(shutil.rmtree, folder, True)


@asynccontextmanager
async def scope(base: Path) -> AsyncIterator[Path]:
    """A temporary folder removed afterwards whatever happened."""
    folder = await make_folder(base)
    try:
        yield folder
    finally:
        await remove_folder(folder)


async def download(attachment: Any, folder: Path, limit: int) -> IncomingFile:
    """Save a ``discord.Attachment`` into ``folder`` after checking its announced size."""
    if attachment.size > limit:
        raise FileTooBig(attachment.size, limit)
    data = await attachment.read()
    if len(data) > limit:
        raise FileTooBig(len(data), limit)
    path = folder / safe_filename(attachment.filename)
    await asyncio.to_thread(path.write_bytes, data)
    duration = getattr(attachment, "duration", None)
    return IncomingFile(
        path=path,
        filename=attachment.filename,
        size=len(data),
        mime_type=attachment.content_type or "",
        duration_s=float(duration) if duration else None,
    )
