"""The UDP keepalive interval unit, and the discord.py internals guard."""

from __future__ import annotations

import asyncio
import itertools
import struct
import threading
import time
from types import SimpleNamespace

import pytest

from adapters.discord.voice.keepalive import KEEPALIVE_INTERVAL_S, UdpKeepAlive, validate_interval
from tests.support.extras import need


def test_keepalive_interval_is_seconds():
    assert KEEPALIVE_INTERVAL_S == 5.0
    with pytest.raises(ValueError, match="milliseconds"):
        UdpKeepAlive(lambda _d: None, 5000)
    with pytest.raises(ValueError):
        validate_interval(0)


def test_keepalive_sends_counter_datagrams_every_interval():
    sent: list[tuple[float, bytes]] = []
    done = threading.Event()

    def send(data: bytes) -> None:
        sent.append((time.monotonic(), data))
        if len(sent) == 4:
            done.set()

    keepalive = UdpKeepAlive(send, interval_s=0.05)
    keepalive.start()
    assert done.wait(5)
    keepalive.stop()
    assert [struct.unpack("<II", d) for _, d in sent[:4]] == [(0, 0), (1, 0), (2, 0), (3, 0)]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sent)]
    assert all(0.04 <= g < 1.0 for g in gaps)  # seconds, not milliseconds or thousands of seconds


discord = need("discord")

from discord import voice_state

from adapters.discord.voice.internals import (
    DiscordInternalsChanged,
    check_discord_internals,
    connection_handle,
)


def test_guard_passes_on_the_installed_discord_py():
    check_discord_internals()


def test_guard_names_a_missing_socket_listener(monkeypatch):
    monkeypatch.delattr(voice_state.VoiceConnectionState, "add_socket_listener")
    with pytest.raises(DiscordInternalsChanged, match=r"add_socket_listener.*internals\.py"):
        check_discord_internals()


def test_guard_refuses_another_discord_py_version(monkeypatch):
    monkeypatch.setattr(discord, "__version__", "2.8.0")
    with pytest.raises(DiscordInternalsChanged, match=r"2\.8\.0"):
        check_discord_internals()


def test_guard_checks_the_connection_object():
    with pytest.raises(DiscordInternalsChanged, match="_connection"):
        connection_handle(SimpleNamespace(_connection=object()))


async def test_gateway_hook_chains_and_is_removed_through_discord_py():
    from discord.gateway import DiscordVoiceWebSocket

    client = SimpleNamespace()
    seen_before: list[int] = []

    async def lead_hook(_ws, message):
        seen_before.append(message["op"])

    state = voice_state.VoiceConnectionState(client, hook=lead_hook)  # type: ignore[arg-type]
    client._connection = state
    ws = DiscordVoiceWebSocket(None, asyncio.get_running_loop(), hook=lead_hook)  # type: ignore[arg-type]
    ws._connection = state
    state.ws = ws
    try:
        handle = connection_handle(client)
        ours: list[dict] = []

        async def listener(message):
            ours.append(message)

        handle.install_gateway_hook(listener)
        await ws.received_message({"op": 5, "d": {"user_id": "9", "ssrc": 4, "speaking": 1}})
        assert seen_before == [5]
        assert ours[0]["d"]["ssrc"] == 4
        handle.remove_gateway_hook()
        assert state.hook is lead_hook
        assert ws._hook is lead_hook
        await ws.received_message({"op": 5, "d": {"user_id": "9", "ssrc": 5, "speaking": 1}})
        assert len(ours) == 1
        assert seen_before == [5, 5]
    finally:
        state._socket_reader.stop()
