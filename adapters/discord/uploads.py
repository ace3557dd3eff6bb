"""Attachments a slash command carried before the engine asked for them (``/star create``, ``/voice setup``).

A slash command takes its file up front, but the engine's flow asks for it several steps later (after the
consent, the name, ...). The adapter holds the downloaded file per (user, :class:`FileKind`) and hands it
over as a ``FileUploaded`` when an action says it ``expects_file`` of that kind. A held file expires (the
user then uploads it in a DM) and is deleted when used, replaced, expired or at shutdown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.discord.files import remove_folder
from core.domain.actions import Action, AskChoice, FileKind, SendText
from core.domain.events import IncomingFile


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldUpload:
    """A downloaded attachment waiting for the prompt that expects it."""

    file: IncomingFile
    folder: Path
    kind: FileKind
    expires: float


def expected_file(action: Action) -> FileKind | None:
    """The kind of file an action asks the user for, if any."""
    match action:
        case SendText(expects_file=kind) | AskChoice(expects_file=kind):
            return kind
        case _:
            return None


class HeldUploads:
    """One held attachment per user and kind."""

    def __init__(self, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._held: dict[tuple[int, FileKind], HeldUpload] = {}

    async def hold(self, user_id: int, kind: FileKind, file: IncomingFile, folder: Path) -> None:
        """Keep ``file`` (inside its own ``folder``) for the user's next prompt of ``kind``."""
        await self._drop_expired()
        old = self._held.pop((user_id, kind), None)
        if old is not None:
            await remove_folder(old.folder)
        self._held[(user_id, kind)] = HeldUpload(
            file=file, folder=folder, kind=kind, expires=self._clock() + self.ttl_s
        )

    def take(self, user_id: int, kind: FileKind) -> HeldUpload | None:
        """The held file for this prompt (the caller removes its folder after use); None when none is."""
        held = self._held.pop((user_id, kind), None)
        if held is None or held.expires < self._clock():
            if held is not None:
                self._held[(user_id, kind)] = held  # expired: removed by the next sweep
            return None
        return held

    async def _drop_expired(self) -> None:
        now = self._clock()
        for key, held in list(self._held.items()):
            if held.expires < now:
                del self._held[key]
                await remove_folder(held.folder)

    async def clear(self) -> None:
        """Delete every held file (shutdown)."""
        for held in self._held.values():
            await remove_folder(held.folder)
        self._held.clear()
