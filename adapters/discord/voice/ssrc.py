"""SSRC → user map, fed by the voice gateway's SPEAKING (op 5) and CLIENT_DISCONNECT (op 13) messages.

Discord announces ``{"op": 5, "d": {"user_id": "…", "ssrc": 1234, "speaking": 1}}`` for each remote user,
often *after* their first audio packets, so the receiver buffers unknown SSRCs until this map knows them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

OP_SPEAKING = 5
OP_CLIENT_DISCONNECT = 13


class SsrcMap:
    """Thread-safe: the gateway hook writes on the event loop, the audio worker reads on its thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[int, int] = {}

    def handle_gateway_message(self, message: Mapping[str, Any]) -> tuple[int, int] | None:
        """Apply one voice gateway message; returns ``(ssrc, user_id)`` when it mapped a new SSRC."""
        op = message.get("op")
        data = message.get("d")
        if not isinstance(data, Mapping):
            return None
        if op == OP_SPEAKING:
            try:
                ssrc, user_id = int(data["ssrc"]), int(data["user_id"])
            except (KeyError, TypeError, ValueError):
                return None
            with self._lock:
                previous = self._users.get(ssrc)
                self._users[ssrc] = user_id
            return None if previous == user_id else (ssrc, user_id)
        if op == OP_CLIENT_DISCONNECT and "user_id" in data:
            self.forget_user(int(data["user_id"]))
        return None

    def set(self, ssrc: int, user_id: int) -> None:
        """Map an SSRC directly (tests, or a source other than the gateway)."""
        with self._lock:
            self._users[ssrc] = user_id

    def user_for(self, ssrc: int) -> int | None:
        """The user speaking on this SSRC, if announced."""
        with self._lock:
            return self._users.get(ssrc)

    def forget_user(self, user_id: int) -> None:
        """Drop every SSRC of a user who left (a rejoin gets a new SPEAKING)."""
        with self._lock:
            for ssrc in [s for s, u in self._users.items() if u == user_id]:
                del self._users[ssrc]
