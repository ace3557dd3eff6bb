"""The ONE module that touches discord.py internals for voice receive, behind a version guard.

discord.py 2.7 has no receive API; receive rides on these private parts of its voice connection
(read in discord.py 2.7.1's ``voice_state.py`` and ``gateway.py``):

- ``VoiceClient._connection``: the ``VoiceConnectionState``;
- ``VoiceConnectionState.add_socket_listener`` / ``remove_socket_listener``: each raw UDP datagram, called on
  discord.py's socket-reader thread; ``send_packet`` sends on the connected UDP socket;
- ``VoiceConnectionState.hook`` (passed to every new ``DiscordVoiceWebSocket``) and the live socket's
  ``_hook``: every voice-gateway JSON message, awaited on the event loop as ``hook(ws, message)``;
- ``VoiceConnectionState.secret_key`` / ``mode``: the transport key and mode from SESSION_DESCRIPTION;
- ``VoiceConnectionState.dave_session``: the live ``davey.DaveSession`` (replaced on reinit: read it per
  frame).

When any of this changes, :func:`check_discord_internals` raises :class:`DiscordInternalsChanged` naming what.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

SUPPORTED_VERSIONS = ((2, 7), (2, 8))  # [min, max) on (major, minor)
_STATE_METHODS = (
    "add_socket_listener",
    "remove_socket_listener",
    "send_packet",
    "_recover_from_invalid_commit",
    "reinit_dave_session",
)
_STATE_ATTRIBUTES = ("hook", "secret_key", "mode", "dave_session", "socket", "ws", "dave_pending_transitions")
_GATEWAY_OPCODES = {"SPEAKING": 5, "CLIENT_DISCONNECT": 13, "MLS_INVALID_COMMIT_WELCOME": 31}

GatewayListener = Callable[[Mapping[str, Any]], Awaitable[None]]
PacketListener = Callable[[bytes], Any]


class DiscordInternalsChanged(RuntimeError):
    """The installed discord.py no longer has the private voice parts that receive depends on."""


def _fail(what: str) -> DiscordInternalsChanged:
    import discord

    low, high = SUPPORTED_VERSIONS
    return DiscordInternalsChanged(
        f"Voice receive needs discord.py internals that changed: {what}. Installed discord.py "
        f"{discord.__version__}; receive was built and tested against "
        f"{low[0]}.{low[1]}.x (< {high[0]}.{high[1]}). "
        "Pin discord.py to that range or update adapters/discord/voice/internals.py."
    )


def check_discord_internals() -> None:
    """Check the discord.py version and the presence of every private name used here."""
    import discord
    from discord import gateway, voice_client, voice_state

    try:
        version = tuple(int(p) for p in discord.__version__.split(".")[:2])
    except ValueError as exc:
        raise _fail(f"unparsable version {discord.__version__!r}") from exc
    low, high = SUPPORTED_VERSIONS
    if not low <= version < high:
        raise _fail("version outside the supported range")
    state_cls = getattr(voice_state, "VoiceConnectionState", None)
    if state_cls is None:
        raise _fail("discord.voice_state.VoiceConnectionState is missing")
    for name in _STATE_METHODS:
        if not callable(getattr(state_cls, name, None)):
            raise _fail(f"VoiceConnectionState.{name} is missing")
    if not hasattr(voice_client.VoiceClient, "create_connection_state"):
        raise _fail("VoiceClient.create_connection_state is missing")
    ws_cls = gateway.DiscordVoiceWebSocket
    for name, value in _GATEWAY_OPCODES.items():
        if getattr(ws_cls, name, None) != value:
            raise _fail(f"DiscordVoiceWebSocket.{name} is not {value}")


class VoiceConnectionHandle:
    """A narrow view of one live ``VoiceConnectionState``; build it with :func:`connection_handle`."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self._previous_hook: Any = None
        self._installed_hook: Any = None

    def secret_key(self) -> bytes | None:
        """The transport key, or None before SESSION_DESCRIPTION."""
        key = self._state.secret_key
        return bytes(key) if key else None

    def mode(self) -> str | None:
        """The negotiated transport encryption mode."""
        return self._state.mode or None

    def dave_session(self) -> Any:
        """The current ``davey.DaveSession`` (None when the channel has no DAVE)."""
        return self._state.dave_session

    def dave_in_transition(self) -> bool:
        """Whether a DAVE protocol transition is pending (failures then are expected, not a drift)."""
        return bool(self._state.dave_pending_transitions)

    async def recover_dave(self, transition_id: int) -> None:
        """discord.py's own recovery: tell the voice server the group is invalid (op 31), re-initialise."""
        await self._state._recover_from_invalid_commit(transition_id)

    async def reinit_dave(self) -> None:
        """Re-initialise the DAVE session (a new key package; the voice server re-adds us)."""
        await self._state.reinit_dave_session()

    def add_socket_listener(self, callback: PacketListener) -> None:
        """Receive every UDP datagram on discord.py's socket-reader thread."""
        self._state.add_socket_listener(callback)

    def remove_socket_listener(self, callback: PacketListener) -> None:
        """Stop receiving datagrams."""
        self._state.remove_socket_listener(callback)

    def send_udp(self, data: bytes) -> None:
        """Send a datagram on the voice UDP socket (keepalives)."""
        self._state.send_packet(data)

    def install_gateway_hook(self, listener: GatewayListener) -> None:
        """Chain ``listener`` after any existing hook, for the live socket and for reconnects."""
        previous = self._state.hook

        async def hook(ws: Any, message: dict[str, Any]) -> None:
            if previous is not None:
                await previous(ws, message)
            await listener(message)

        self._previous_hook, self._installed_hook = previous, hook
        self._state.hook = hook
        if self._state.ws:  # MISSING is falsy; a live socket captured the old hook at creation
            self._state.ws._hook = hook

    def remove_gateway_hook(self) -> None:
        """Restore the hook that was there before :meth:`install_gateway_hook`."""
        if self._installed_hook is None:
            return
        self._state.hook = self._previous_hook
        if self._state.ws and getattr(self._state.ws, "_hook", None) is self._installed_hook:
            if self._previous_hook is None:
                del self._state.ws._hook  # falls back to the class's no-op coroutine
            else:
                self._state.ws._hook = self._previous_hook
        self._installed_hook = None


def connection_handle(voice_client: Any) -> VoiceConnectionHandle:
    """Check the internals and wrap a connected ``discord.VoiceClient``'s connection state."""
    check_discord_internals()
    from discord import voice_state

    state = getattr(voice_client, "_connection", None)
    if not isinstance(state, voice_state.VoiceConnectionState):
        raise _fail("VoiceClient._connection is not a VoiceConnectionState")
    for name in _STATE_ATTRIBUTES:
        if not hasattr(state, name):
            raise _fail(f"VoiceConnectionState.{name} is missing")
    return VoiceConnectionHandle(state)
