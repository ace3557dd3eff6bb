"""Files VOS builds only to hand them to a user (``/export`` zips, meeting transcripts and charts).

They are copies of data that lives in the database and the blob store, so they have no business staying on
disk: each is written under one folder with its owner and what it is about in its name, sent as a
:class:`~core.domain.actions.SendFile` marked ``temporary`` (the adapter deletes it once uploaded), and
whatever is left (an upload that failed, the console, which only shows the path, a crash) goes after a short
TTL (:meth:`Outbox.sweep`), when the owner says ``/forget_me`` (:meth:`Outbox.delete_owned`) or when the
star or meeting it is about is deleted (:meth:`Outbox.delete_about`).

A name is ``<owner>~<about>~<random><suffix>``: owner and about are internal ids (hex), never user text.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
DEFAULT_TTL_S = 3600.0
_ID = re.compile(r"[^0-9A-Za-z_-]+")
_SUFFIX = re.compile(r"^\.[0-9A-Za-z]{1,8}$")
_SEP = "~"


def _clean(value: str) -> str:
    return _ID.sub("_", value)[:80] or "_"


class Outbox:
    """A folder of short-lived files, each named after its owner and subject."""

    def __init__(self, root: Path, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.root = root
        self.ttl_s = ttl_s

    def new_path(self, owner_id: str, about: str, suffix: str) -> Path:
        """A fresh path for a file owned by ``owner_id`` about ``about`` (a star or meeting id); the folder
        is created (blocking: call from a thread or before heavy work)."""
        if not _SUFFIX.match(suffix):
            raise ValueError(f"bad suffix {suffix!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        name = _SEP.join((_clean(owner_id), _clean(about), secrets.token_hex(8))) + suffix
        return self.root / name

    async def write(self, owner_id: str, about: str, suffix: str, data: bytes) -> Path:
        """Write ``data`` to a new outbox file and return its path."""

        def write() -> Path:
            path = self.new_path(owner_id, about, suffix)
            tmp = path.with_name("." + path.name)
            try:
                tmp.write_bytes(data)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
            return path

        return await asyncio.to_thread(write)

    def owns(self, path: Path) -> bool:
        """Whether ``path`` is a file of this outbox."""
        return path.parent.resolve() == self.root.resolve()

    async def delete_owned(self, owner_id: str) -> int:
        """Delete every file of ``owner_id`` (``/forget_me``); returns how many."""
        prefix = _clean(owner_id) + _SEP
        return await asyncio.to_thread(self._delete_where, lambda name: name.lstrip(".").startswith(prefix))

    async def delete_about(self, about: str) -> int:
        """Delete every file about a star or meeting (``/forget``, a meeting deleted); returns how many."""
        part = _SEP + _clean(about) + _SEP
        return await asyncio.to_thread(self._delete_where, lambda name: part in name)

    async def sweep(self, *, now: float | None = None) -> int:
        """Delete files older than the TTL (deliveries that never happened); returns how many."""
        cutoff = (time.time() if now is None else now) - self.ttl_s
        return await asyncio.to_thread(self._delete_where, lambda _name: True, cutoff)

    def _delete_where(self, match: Callable[[str], bool], cutoff: float | None = None) -> int:
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return 0
        removed = 0
        for entry in entries:
            if not entry.is_file(follow_symlinks=False) or not match(entry.name):
                continue
            try:
                if cutoff is not None and entry.stat(follow_symlinks=False).st_mtime > cutoff:
                    continue
                os.unlink(entry.path)
                removed += 1
            except FileNotFoundError:
                continue
        if removed:
            log.info("outbox: %d file(s) deleted", removed)
        return removed


async def discard(path: Path) -> None:
    """Delete a delivered temporary file (adapters call this once a ``temporary`` file is sent)."""
    try:
        await asyncio.to_thread(path.unlink, True)
    except OSError:
        log.warning("could not delete a delivered temporary file", exc_info=True)
