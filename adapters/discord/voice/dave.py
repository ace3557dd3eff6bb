"""The DAVE (end-to-end) layer: decrypt each speaker's Opus frame with the connection's davey session.

After a key change (a new MLS epoch, someone joining or leaving) the first frames may be sealed with a key
this session does not hold yet; those are dropped and counted, never raised. Frames of users whose decryptor
is in passthrough mode (during a protocol transition) arrive unencrypted and are handed on as they are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

# DAVE marks every protocol frame with this 2-byte trailer (daveprotocol.com, "Protocol frame").
DAVE_MAGIC_MARKER = b"\xfa\xfa"
# Opus "silence" frame: clients send a few after they stop talking; DAVE leaves it unencrypted.
OPUS_SILENCE_FRAME = b"\xf8\xff\xfe"


class DaveSessionLike(Protocol):
    """The subset of ``davey.DaveSession`` the receiver uses."""

    @property
    def ready(self) -> bool: ...

    def decrypt(self, user_id: int, media_type: Any, packet: bytes) -> bytes: ...

    def can_passthrough(self, user_id: int) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DaveStats:
    """Counters since the decryptor was created."""

    decrypted: int
    passthrough: int
    unencrypted: int
    dropped: int


class DaveFrameDecryptor:
    """Turns DAVE frames into Opus frames; ``session_provider`` returns the *current* session (or None)."""

    def __init__(self, session_provider: Callable[[], DaveSessionLike | None]) -> None:
        self._session_provider = session_provider
        self._lock = threading.Lock()
        self._decrypted = 0
        self._passthrough = 0
        self._unencrypted = 0
        self._dropped = 0
        self._media_audio: Any = None

    def _audio(self) -> Any:
        if self._media_audio is None:
            import davey

            self._media_audio = davey.MediaType.audio
        return self._media_audio

    def decrypt(self, user_id: int, frame: bytes) -> bytes | None:
        """Return the Opus frame, or None when it cannot be decrypted (dropped and counted)."""
        session = self._session_provider()
        is_dave_frame = frame.endswith(DAVE_MAGIC_MARKER)
        if session is None or not _ready(session):
            # No E2EE on this connection (DAVE version 0, e.g. a stage channel): frames are plain Opus.
            if is_dave_frame:
                self._count_drop()
                return None
            return self._count("_unencrypted", frame)
        if frame == OPUS_SILENCE_FRAME:
            return self._count("_unencrypted", frame)
        try:
            opus = bytes(session.decrypt(user_id, self._audio(), frame))
        except Exception:  # davey raises ValueError; a concurrent borrow raises RuntimeError
            if not is_dave_frame and _can_passthrough(session, user_id):
                return self._count("_passthrough", frame)
            self._count_drop()
            return None
        return self._count("_decrypted", opus)

    def _count(self, name: str, frame: bytes) -> bytes:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)
        return frame

    def _count_drop(self) -> None:
        with self._lock:
            self._dropped += 1

    @property
    def stats(self) -> DaveStats:
        """A snapshot of the counters."""
        with self._lock:
            return DaveStats(
                decrypted=self._decrypted,
                passthrough=self._passthrough,
                unencrypted=self._unencrypted,
                dropped=self._dropped,
            )


def _ready(session: DaveSessionLike) -> bool:
    try:
        return bool(session.ready)
    except Exception:
        return False


def _can_passthrough(session: DaveSessionLike, user_id: int) -> bool:
    try:
        return bool(session.can_passthrough(user_id))
    except Exception:
        return False
