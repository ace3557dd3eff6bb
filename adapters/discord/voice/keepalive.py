"""UDP keepalive for a listen-only voice connection.

A bot that only listens sends no audio, so NAT mappings can expire and Discord may stop delivering packets.
Like @discordjs/voice, send an 8-byte counter datagram every few seconds. The interval is in SECONDS: a
known bug elsewhere passed 5000 (meant as milliseconds) to a seconds-based timer and audio stopped after the
mapping expired, so values that look like milliseconds are refused.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable

KEEPALIVE_INTERVAL_S = 5.0
MAX_KEEPALIVE_INTERVAL_S = 60.0

_log = logging.getLogger(__name__)


def validate_interval(interval_s: float) -> float:
    """Return the interval if it is a plausible number of seconds, else raise ValueError."""
    if not 0 < interval_s <= MAX_KEEPALIVE_INTERVAL_S:
        raise ValueError(
            f"UDP keepalive interval is in seconds and must be in (0, {MAX_KEEPALIVE_INTERVAL_S:g}]; "
            f"got {interval_s!r} (milliseconds passed as seconds?)"
        )
    return float(interval_s)


class UdpKeepAlive:
    """Sends ``counter (uint32 LE) + 4 zero bytes`` through ``send`` every ``interval_s`` seconds."""

    def __init__(self, send: Callable[[bytes], None], interval_s: float = KEEPALIVE_INTERVAL_S) -> None:
        self.interval_s = validate_interval(interval_s)
        self._send = send
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def start(self) -> None:
        """Start sending on a daemon thread (one right away, then every interval)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="voice-udp-keepalive", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * self.interval_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._send(struct.pack("<II", self.sent & 0xFFFFFFFF, 0))
                self.sent += 1
            except OSError:
                _log.debug("voice keepalive send failed; the socket may be reconnecting", exc_info=True)
            self._stop.wait(self.interval_s)
