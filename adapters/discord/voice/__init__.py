"""Voice receive for Discord (RTP, transport AEAD, DAVE, Opus, per-speaker tracks).

discord.py 2.7 has no receive API; this package builds it on discord.py's voice connection. Entry point:
:func:`start_capture`; the parts are usable alone (see README.md in this folder).
"""

from adapters.discord.voice.capture import LiveCapture, start_capture
from adapters.discord.voice.internals import DiscordInternalsChanged, check_discord_internals
from adapters.discord.voice.keepalive import KEEPALIVE_INTERVAL_S, UdpKeepAlive
from adapters.discord.voice.receiver import (
    CapturedTrack,
    CaptureOptions,
    CaptureResult,
    ReceiveStats,
    VoiceReceiver,
)

__all__ = [
    "KEEPALIVE_INTERVAL_S",
    "CaptureOptions",
    "CaptureResult",
    "CapturedTrack",
    "DiscordInternalsChanged",
    "LiveCapture",
    "ReceiveStats",
    "UdpKeepAlive",
    "VoiceReceiver",
    "check_discord_internals",
    "start_capture",
]
