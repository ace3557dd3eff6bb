"""Live capture on a connected ``discord.VoiceClient``: wires the receiver to discord.py's connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from adapters.discord.voice.dave import DaveFrameDecryptor
from adapters.discord.voice.internals import VoiceConnectionHandle, connection_handle
from adapters.discord.voice.keepalive import KEEPALIVE_INTERVAL_S, UdpKeepAlive
from adapters.discord.voice.receiver import CaptureOptions, CaptureResult, VoiceReceiver
from adapters.discord.voice.transport import TransportCipher, make_cipher


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

    def __init__(
        self, handle: VoiceConnectionHandle, receiver: VoiceReceiver, keepalive: UdpKeepAlive
    ) -> None:
        self.handle = handle
        self.receiver = receiver
        self._keepalive = keepalive

    async def _on_gateway(self, message: Mapping[str, Any]) -> None:
        await self.receiver.on_gateway_message(message)

    def _attach(self) -> None:
        self.receiver.start()
        self.handle.install_gateway_hook(self._on_gateway)
        self.handle.add_socket_listener(self.receiver.on_packet)
        self._keepalive.start()

    async def stop(self) -> CaptureResult:
        """Detach (socket listener, gateway hook, keepalive) and close every track."""
        self.handle.remove_socket_listener(self.receiver.on_packet)
        self.handle.remove_gateway_hook()
        await asyncio.to_thread(self._keepalive.stop)
        return await asyncio.to_thread(self.receiver.stop)


def start_capture(
    voice_client: Any,
    directory: Path,
    *,
    options: CaptureOptions | None = None,
    is_captured: Callable[[int], bool] = lambda _user_id: True,
    keepalive_interval_s: float = KEEPALIVE_INTERVAL_S,
) -> LiveCapture:
    """Start capturing a connected voice client's channel into ``directory`` (one WAV per speaker).

    Raises :class:`~adapters.discord.voice.internals.DiscordInternalsChanged` when the installed
    discord.py lacks the private parts this relies on.
    """
    handle = connection_handle(voice_client)
    receiver = VoiceReceiver(
        directory,
        cipher=_CipherCache(handle),
        dave=DaveFrameDecryptor(handle.dave_session),
        options=options,
        is_captured=is_captured,
    )
    capture = LiveCapture(handle, receiver, UdpKeepAlive(handle.send_udp, keepalive_interval_s))
    capture._attach()
    return capture
