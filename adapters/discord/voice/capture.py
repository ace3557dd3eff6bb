"""Live capture on a connected ``discord.VoiceClient``: wires the receiver to discord.py's connection."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from adapters.discord.voice.dave import DaveFrameDecryptor
from adapters.discord.voice.health import HealthReport
from adapters.discord.voice.internals import VoiceConnectionHandle, connection_handle
from adapters.discord.voice.keepalive import KEEPALIVE_INTERVAL_S, UdpKeepAlive
from adapters.discord.voice.receiver import CaptureOptions, CaptureResult, VoiceReceiver
from adapters.discord.voice.transport import TransportCipher, make_cipher

log = logging.getLogger(__name__)


class _CipherCache:
    """Rebuilds the transport cipher only when the connection's mode or key changes (reconnects)."""

    def __init__(self, handle: VoiceConnectionHandle) -> None:
        self._handle = handle
        self._for: tuple[str, bytes] | None = None
        self._cipher: TransportCipher | None = None

    def __call__(self) -> TransportCipher | None:
        mode, key = self._handle.mode(), self._handle.secret_key()
        if mode is None or key is None:
            return None
        if self._for != (mode, key):
            self._cipher, self._for = make_cipher(mode, key), (mode, key)
        return self._cipher


class LiveCapture:
    """A running capture; :meth:`stop` detaches from the connection and returns the tracks."""

    def __init__(self, handle: VoiceConnectionHandle, keepalive: UdpKeepAlive) -> None:
        self.handle = handle
        self.receiver: VoiceReceiver
        self._keepalive = keepalive
        self._loop = asyncio.get_running_loop()
        self._recoveries: list[concurrent.futures.Future[None]] = []
        self.transition_id = 0  # the latest DAVE transition the voice server announced

    async def _on_gateway(self, message: Mapping[str, Any]) -> None:
        data = message.get("d")
        if message.get("op") in (21, 22) and isinstance(data, Mapping):  # prepare / execute transition
            self.transition_id = int(data.get("transition_id") or 0)
        await self.receiver.on_gateway_message(message)

    def dave_stuck(self, number: int) -> None:
        """The DAVE layer failed every frame for a while (worker thread): recover on the event loop."""
        self._recoveries.append(asyncio.run_coroutine_threadsafe(self._recover(number), self._loop))

    async def _recover(self, number: int) -> None:
        """discord.py's own recovery first (op 31, a new session), then plain re-initialisations."""
        try:
            if number == 1:
                log.warning(
                    "voice receive: DAVE decryption keeps failing; invalidating transition %d (op 31)",
                    self.transition_id,
                )
                await self.handle.recover_dave(self.transition_id)
            else:
                log.warning(
                    "voice receive: DAVE decryption still failing; re-initialising the session (%d)", number
                )
                await self.handle.reinit_dave()
        except Exception:
            log.exception("voice receive: DAVE recovery failed")

    def _attach(self) -> None:
        self.receiver.start()
        self.handle.install_gateway_hook(self._on_gateway)
        self.handle.add_socket_listener(self.receiver.on_packet)
        self._keepalive.start()

    async def stop(self) -> CaptureResult:
        """Detach (socket listener, gateway hook, keepalive) and close every track."""
        self.handle.remove_socket_listener(self.receiver.on_packet)
        self.handle.remove_gateway_hook()
        for future in self._recoveries:
            future.cancel()
        await asyncio.to_thread(self._keepalive.stop)
        return await asyncio.to_thread(self.receiver.stop)


def start_capture(
    voice_client: Any,
    directory: Path,
    *,
    options: CaptureOptions | None = None,
    is_captured: Callable[[int], bool] = lambda _user_id: True,
    keepalive_interval_s: float = KEEPALIVE_INTERVAL_S,
    on_health: Callable[[HealthReport], None] | None = None,
) -> LiveCapture:
    """Start capturing a connected voice client's channel into ``directory`` (OGG/Opus per speaker).

    ``on_health`` is called on the receive worker thread with each interval's capture health.

    Raises :class:`~adapters.discord.voice.internals.DiscordInternalsChanged` when the installed
    discord.py lacks the private parts this relies on.
    """
    handle = connection_handle(voice_client)
    capture = LiveCapture(handle, UdpKeepAlive(handle.send_udp, keepalive_interval_s))
    dave = DaveFrameDecryptor(
        handle.dave_session, in_transition=handle.dave_in_transition, on_stuck=capture.dave_stuck
    )
    capture.receiver = VoiceReceiver(
        directory,
        cipher=_CipherCache(handle),
        dave=dave,
        options=options,
        is_captured=is_captured,
        on_health=on_health,
    )
    capture._attach()
    return capture
