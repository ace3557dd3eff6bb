"""The DAVE (end-to-end) layer: decrypt each speaker's Opus frame with the connection's davey session.

After a key change (a new MLS epoch, someone joining or leaving) the first frames may be sealed with a key
this session does not hold yet; those are dropped and counted, never raised, and never reach the Opus
decoder. Frames of users whose decryptor is in passthrough mode (during a protocol transition) arrive
unencrypted. Real traffic also sends frames whose RTP padding survived (a sender that pads without the P
bit, py-cord PRs #3202/#3386): the padding hides the DAVE supplemental block's marker, so such a frame is
decrypted again without it; a frame that still carries a DAVE block after all that is refused, never
played as if it were clear Opus.

Recovery: a session whose MLS state drifted fails every frame. After ``failure_tolerance`` consecutive
failures outside a protocol transition (discord.js uses 36), ``on_stuck`` is called once; the capture
then runs discord.py's own recovery (op 31 and a new session), then a plain re-initialisation if failures
go on. A decrypted frame resets the count.
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


FAILURE_TOLERANCE = 36  # consecutive failures before recovery, as discord.js


@dataclass(frozen=True, slots=True, kw_only=True)
class DaveStats:
    """Counters since the decryptor was created."""

    decrypted: int
    passthrough: int
    unencrypted: int
    dropped: int
    recoveries: int = 0


class DaveFrameDecryptor:
    """Turns DAVE frames into Opus frames; ``session_provider`` returns the *current* session (or None)."""

    def __init__(
        self,
        session_provider: Callable[[], DaveSessionLike | None],
        *,
        failure_tolerance: int = FAILURE_TOLERANCE,
        in_transition: Callable[[], bool] = lambda: False,
        on_stuck: Callable[[int], None] | None = None,
    ) -> None:
        """``on_stuck(n)``: called (on the worker thread) when the ``n``-th recovery is due."""
        self._session_provider = session_provider
        self._lock = threading.Lock()
        self._decrypted = 0
        self._passthrough = 0
        self._unencrypted = 0
        self._dropped = 0
        self._recoveries = 0
        self._consecutive = 0
        self._tolerance = failure_tolerance
        self._in_transition = in_transition
        self._on_stuck = on_stuck
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
        opus = self._try(session, user_id, frame)
        if opus is None:
            unpadded = strip_padding(frame)
            if unpadded is not None and unpadded.endswith(DAVE_MAGIC_MARKER):
                opus = self._try(session, user_id, unpadded)  # padding had hidden the DAVE marker
        if opus is not None:
            self._consecutive = 0
            return self._count("_decrypted", opus)
        if _can_passthrough(session, user_id):
            plain = strip_passthrough_trailers(frame)
            if plain:
                return self._count("_passthrough", plain)
        self._count_drop()
        self._failed()
        return None

    def _try(self, session: DaveSessionLike, user_id: int, frame: bytes) -> bytes | None:
        try:
            return bytes(session.decrypt(user_id, self._audio(), frame))
        except Exception:  # davey raises ValueError; a concurrent borrow raises RuntimeError
            return None

    def _failed(self) -> None:
        self._consecutive += 1
        if self._consecutive < self._tolerance or self._in_transition():
            return
        self._consecutive = 0  # the next recovery is due only after as many failures again
        with self._lock:
            self._recoveries += 1
            number = self._recoveries
        if self._on_stuck is not None:
            self._on_stuck(number)

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
                recoveries=self._recoveries,
            )


def strip_padding(frame: bytes) -> bytes | None:
    """``frame`` without RTP-style trailing padding (last byte N, N-1 zero bytes before it), or None."""
    if not frame:
        return None
    count = frame[-1]
    if count == 0 or count >= len(frame) or any(frame[-count:-1]):
        return None
    return frame[:-count]


def strip_passthrough_trailers(frame: bytes) -> bytes:
    """The Opus of a frame that failed to decrypt while its sender may send in the clear, or ``b""``.

    Trailing RTP padding is taken off. A frame that still ends with a DAVE supplemental block (its size
    byte and the marker ``0xFAFA``) is a sealed frame, not clear Opus: py-cord PR #3202 took the block off
    and played what was left, but that is ciphertext (PR #3386: the padding had hidden the marker, and the
    frame decrypts once it is gone), so it is refused here rather than fed to the Opus decoder.
    """
    unpadded = strip_padding(frame)
    if unpadded is not None:
        frame = unpadded
    return b"" if frame.endswith(DAVE_MAGIC_MARKER) else frame


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
