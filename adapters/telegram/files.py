"""Downloads of user files: size checks before any transfer, one temporary folder per update."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from telegram import Bot
from telegram.error import BadRequest

from adapters.telegram.config import TelegramAdapterConfig
from adapters.telegram.convert import TelegramFileRef
from core.domain.events import IncomingFile

_UNSAFE = re.compile(r"[^\w.\- ]+")


class FileTooBig(Exception):
    """A file is over a Telegram limit; ``size`` may be 0 when Telegram only said "too big"."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file of {size} bytes is over the {limit} bytes limit")
        self.size = size
        self.limit = limit


def safe_filename(name: str) -> str:
    """A file name that cannot escape its folder (user-supplied names are data, not paths)."""
    cleaned = _UNSAFE.sub("_", Path(name).name).strip(". ")
    return cleaned[:120] or "file"


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
        base = self._config.download_dir
        if base is not None:
            await asyncio.to_thread(base.mkdir, parents=True, exist_ok=True)
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="vos-tg-", dir=base))
        try:
            yield folder
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

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
