"""Downloads of user files: size checks before any transfer, one temporary folder per update.

``FileTooBig`` and ``safe_filename`` are the shared ones (:mod:`adapters.common.files`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from telegram import Bot
from telegram.error import BadRequest

from adapters.common.files import FileTooBig, safe_filename
from adapters.common.files import scope as folder_scope
from adapters.telegram.config import TelegramAdapterConfig
from adapters.telegram.convert import TelegramFileRef
from core.domain.events import IncomingFile

__all__ = ["FileTooBig", "TelegramFiles", "safe_filename"]


class TelegramFiles:
    """Downloads attachments into short-lived folders under ``config.download_dir``."""

    def __init__(self, config: TelegramAdapterConfig) -> None:
        self._config = config

    def check_size(self, ref: TelegramFileRef) -> None:
        """Refuse a file Telegram announced as larger than a bot may download (before any request)."""
        if ref.size > self._config.max_download_bytes:
            raise FileTooBig(ref.size, self._config.max_download_bytes)

    @asynccontextmanager
    async def scope(self) -> AsyncIterator[Path]:
        """A temporary folder for one update's files, removed afterwards whatever happened."""
        async with folder_scope(self._config.download_dir, "vos-tg-") as folder:
            yield folder

    async def download(self, bot: Bot, ref: TelegramFileRef, folder: Path) -> IncomingFile:
        """Fetch ``ref`` into ``folder`` (``getFile`` then the file URL) after checking its size."""
        self.check_size(ref)
        try:
            tg_file = await bot.get_file(ref.file_id)
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise FileTooBig(ref.size, self._config.max_download_bytes) from exc
            raise
        if (tg_file.file_size or 0) > self._config.max_download_bytes:
            raise FileTooBig(tg_file.file_size or 0, self._config.max_download_bytes)
        data = await tg_file.download_as_bytearray()
        path = folder / safe_filename(ref.filename)
        await asyncio.to_thread(path.write_bytes, bytes(data))
        return IncomingFile(
            path=path,
            filename=ref.filename,
            size=len(data),
            mime_type=ref.mime_type,
            duration_s=ref.duration_s,
        )
