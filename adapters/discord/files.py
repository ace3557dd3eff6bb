"""Attachments to local files: size checked before download, one temporary folder per use.

The shared pieces (``FileTooBig``, safe names, folders) are :mod:`adapters.common.files`.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from adapters.common import files
from adapters.common.files import FileTooBig, remove_folder, safe_filename
from core.domain.events import IncomingFile

__all__ = ["FileTooBig", "download", "make_folder", "remove_folder", "scope"]

_PREFIX = "vos-dc-"


async def make_folder(base: Path) -> Path:
    """A new private temporary folder under ``base``."""
    return await files.make_folder(base, _PREFIX)


def scope(base: Path) -> AbstractAsyncContextManager[Path]:
    """A temporary folder removed afterwards whatever happened."""
    return files.scope(base, _PREFIX)


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
