"""An independent reference: @discordjs/voice and @snazzah/davey (npm) send, VOS receives.

The Node harness (``node/sender.js``) joins the same MLS group as VOS's bot session through the fake voice
server, and turns synthetic Opus frames into datagrams with @discordjs/voice's own packet code (DAVE, RTP,
``aead_aes256_gcm_rtpsize``). VOS's receive path (RTP, transport AEAD, extension strip, DAVE) must give back
exactly the Opus frames that were sent, and the whole pipeline must place them on the speaker's track.

Skipped cleanly when ``node``/``npm`` are missing; ``npm ci``-like install into ``node/node_modules`` on
first use (the npm registry is the only network it needs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.extras import need

need("davey")

from discord_voice_fakes import FakeMlsVoiceServer, encode_opus, voice_like

from adapters.discord.voice.dave import DaveFrameDecryptor
from adapters.discord.voice.receiver import VoiceReceiver
from adapters.discord.voice.rtp import parse_rtp, strip_extension_body
from adapters.discord.voice.transport import AES256_GCM, make_cipher

HARNESS = Path(__file__).parent / "node"
CHANNEL, BOT, SENDER, SSRC = 4242, 1000, 2001, 77


def _node_ready() -> bool:
    if shutil.which("node") is None or shutil.which("npm") is None:
        return False
    if not (HARNESS / "node_modules" / "@discordjs" / "voice").exists():
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"],
            cwd=HARNESS,
            capture_output=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"npm install failed (no registry?): {done.stderr.decode()[-300:]}")
    return True


def _talk(process: subprocess.Popen[str], message: dict[str, Any] | None = None) -> dict[str, Any]:
    assert process.stdin is not None and process.stdout is not None
    if message is not None:
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        raise AssertionError(f"the Node harness stopped: {process.stderr.read() if process.stderr else ''}")
    return dict(json.loads(line))


@pytest.mark.slow
def test_vos_decrypts_exactly_what_discordjs_voice_sends(tmp_path):
    if not _node_ready():
        pytest.skip("node and npm are not installed")
    frames = encode_opus(voice_like(1.0, seed=8))
    key = os.urandom(32)
    process = subprocess.Popen(
        ["node", "sender.js", str(SENDER), str(CHANNEL)],
        cwd=HARNESS,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        package = bytes.fromhex(_talk(process)["key_package"])
        server = FakeMlsVoiceServer()
        sessions = server.group(CHANNEL, [BOT, BOT + 1], outside={SENDER: package})
        bot, second_bot = sessions[BOT], sessions[BOT + 1]  # DAVE refuses a frame it already opened
        reply = _talk(
            process, {"external_sender": server.external_sender.hex(), "welcome": server.welcome.hex()}
        )
        assert reply == {"ready": True}
        sent = _talk(process, {"secret_key": key.hex(), "ssrc": SSRC, "frames": [f.hex() for f in frames]})
    finally:
        process.kill()
        process.communicate(timeout=10)
    datagrams = [bytes.fromhex(p) for p in sent["packets"]]
    assert len(datagrams) == len(frames)

    # Frame by frame through VOS's layers: what comes out is the Opus that went in.
    cipher = make_cipher(AES256_GCM, key)
    dave = DaveFrameDecryptor(lambda: bot)
    for datagram, opus in zip(datagrams, frames, strict=True):
        packet = parse_rtp(datagram)
        assert (packet.ssrc, packet.payload_type) == (SSRC, 120)
        sealed = strip_extension_body(packet, cipher.decrypt(packet))
        assert opus not in sealed  # DAVE really encrypted it
        assert dave.decrypt(SENDER, sealed) == opus
    assert dave.stats.decrypted == len(frames) and dave.stats.dropped == 0

    # And through the whole receiver: one speaker's track with every frame decoded.
    receiver = VoiceReceiver(tmp_path, cipher=lambda: cipher, dave=DaveFrameDecryptor(lambda: second_bot))
    receiver.map_ssrc(SSRC, SENDER)
    receiver.start()
    for k, datagram in enumerate(datagrams):
        receiver.on_packet_at(datagram, receiver.clock.start + 0.02 * k)
    result = receiver.stop()
    assert result.stats.frames_decoded == len(frames) and result.stats.lost_frames == 0
    (track,) = result.tracks
    assert track.user_id == SENDER and track.samples >= len(frames) * 960 - 960
