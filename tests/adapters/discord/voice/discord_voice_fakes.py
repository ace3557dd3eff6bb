"""Test doubles for voice receive: a local MLS "voice server", Opus frames of known audio, RTP senders."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adapters.discord.voice.rtp import ONE_BYTE_PROFILE, build_extension_body, build_rtp_header
from adapters.discord.voice.transport import TransportCipher

SAMPLE_RATE = 48_000
FRAME = 960


def voice_like(seconds: float, seed: int) -> np.ndarray:
    """A speech-like mono int16 signal: harmonics on a wandering pitch, syllable-rate envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 110 + 60 * seed % 90 + 20 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6))
    signal = wave * envelope
    return (0.25 * 32767 * signal / np.max(np.abs(signal))).astype(np.int16)


def encode_opus(pcm: np.ndarray) -> list[bytes]:
    """Encode mono int16 48 kHz audio into 20 ms Opus frames (PyAV's libopus)."""
    import av

    encoder: Any = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format, encoder.bit_rate = SAMPLE_RATE, "mono", "s16", 64000
    encoder.options = {"fec": "1", "packet_loss": "10"}  # in-band FEC, as Discord clients send
    encoder.open()
    frames: list[bytes] = []
    padded = np.concatenate([pcm, np.zeros(-len(pcm) % FRAME, dtype=np.int16)])
    for i in range(0, len(padded), FRAME):
        chunk = av.AudioFrame.from_ndarray(padded[None, i : i + FRAME], format="s16", layout="mono")
        chunk.sample_rate, chunk.pts = SAMPLE_RATE, i
        frames += [bytes(p) for p in encoder.encode(chunk)]
    frames += [bytes(p) for p in encoder.encode(None)]
    return frames[: len(padded) // FRAME]


def _varint(n: int) -> bytes:
    if n < 64:
        return bytes([n])
    if n < 16384:
        return struct.pack(">H", 0x4000 | n)
    return struct.pack(">I", 0x80000000 | n)


def _vec(data: bytes) -> bytes:
    return _varint(len(data)) + data


class FakeMlsVoiceServer:
    """Plays Discord's voice server as the DAVE external sender, so real davey sessions form a real MLS group.

    It signs MLS Add proposals (RFC 9420 PublicMessage from an external sender, ECDSA P-256) for the
    members' key packages; the first member commits, the others join from its Welcome.
    """

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())
        public = self._key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.external_sender = _vec(public) + struct.pack(">H", 1) + _vec(b"voice-server")

    def _add_proposal(self, group_id: bytes, epoch: int, key_package: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        content = (
            _vec(group_id)
            + struct.pack(">QBI", epoch, 2, 0)  # epoch, sender type external, sender index 0
            + _vec(b"")
            + bytes([2])  # content type: proposal
            + struct.pack(">H", 1)  # proposal type: add
            + key_package
        )
        version_wire = struct.pack(">HH", 1, 1)  # mls10, public_message
        to_sign = _vec(b"MLS 1.0 FramedContentTBS") + _vec(version_wire + content)
        signature = self._key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
        return version_wire + content + _vec(signature)

    def group(
        self, channel_id: int, user_ids: list[int], outside: dict[int, bytes] | None = None
    ) -> dict[int, Any]:
        """Return a ready ``davey.DaveSession`` per user, all in one MLS group (epoch 1).

        ``outside``: key packages of members whose sessions live elsewhere (another process); they join
        from :attr:`welcome`.
        """
        import davey

        sessions = {uid: davey.DaveSession(1, uid, channel_id) for uid in user_ids}
        packages = {uid: s.get_serialized_key_package() for uid, s in sessions.items()} | (outside or {})
        for session in sessions.values():
            session.set_external_sender(self.external_sender)
        committer, *others = user_ids
        proposals = b"".join(
            self._add_proposal(channel_id.to_bytes(8, "big"), 0, packages[uid])
            for uid in [*others, *(outside or {})]
        )
        result = sessions[committer].process_proposals(davey.ProposalsOperationType.append, _vec(proposals))
        assert result is not None
        assert result.welcome is not None
        self.welcome = bytes(result.welcome)
        for uid in others:
            sessions[uid].process_welcome(result.welcome)
        sessions[committer].process_commit(result.commit)
        assert all(s.ready for s in sessions.values())
        return sessions


@dataclass
class FakeSpeaker:
    """One remote client: Opus frames → (DAVE) → RTP with a header extension → transport AEAD."""

    ssrc: int
    cipher: TransportCipher
    dave: Any = None
    timestamps_advance_in_gaps: bool = True  # WebRTC clients do; discord.py senders do not
    sequence: int = 1000
    timestamp: int = 123_456
    csrcs: tuple[int, ...] = ()
    sent: int = field(default=0)

    def packet(self, opus: bytes, *, frame_index: int) -> bytes:
        """The datagram for the frame at ``frame_index`` (20 ms units since the speaker's first frame)."""
        media = self.dave.encrypt_opus(opus) if self.dave is not None else opus
        ts = self.timestamp + (frame_index * FRAME if self.timestamps_advance_in_gaps else self.sent * FRAME)
        # A one-byte RFC 8285 extension as Discord clients send (audio level, id 1; and a 3-byte element).
        body = build_extension_body(ONE_BYTE_PROFILE, [(1, b"\x9f"), (5, b"\x01\x02\x03")])
        header = build_rtp_header(
            sequence=(self.sequence + self.sent) % 65536,  # one per packet sent: no jump over pauses
            timestamp=ts,
            ssrc=self.ssrc,
            csrcs=self.csrcs,
            extension_profile=ONE_BYTE_PROFILE,
            extension_words=len(body) // 4,
        )
        self.sent += 1
        return self.cipher.encrypt(header, body + media)


def best_lag_correlation(
    track: np.ndarray, source: np.ndarray, start: int, max_lag: int
) -> tuple[int, float]:
    """The lag in ``[-max_lag, max_lag]`` where ``source`` best matches ``track`` near ``start``."""
    best = (0, -1.0)
    src = source.astype(np.float64)
    for lag in range(-max_lag, max_lag + 1, 24):
        begin = start + lag
        if begin < 0 or begin + len(src) > len(track):
            continue
        seg = track[begin : begin + len(src)].astype(np.float64)
        denom = np.linalg.norm(seg) * np.linalg.norm(src)
        corr = float(seg @ src / denom) if denom else 0.0
        if corr > best[1]:
            best = (lag, corr)
    lag0 = best[0]
    for lag in range(lag0 - 24, lag0 + 25):  # refine to the sample
        begin = start + lag
        if begin < 0 or begin + len(src) > len(track):
            continue
        seg = track[begin : begin + len(src)].astype(np.float64)
        denom = np.linalg.norm(seg) * np.linalg.norm(src)
        corr = float(seg @ src / denom) if denom else 0.0
        if corr > best[1]:
            best = (lag, corr)
    return best


def decode_track(path: Any) -> np.ndarray:
    """A captured OGG/Opus track decoded to mono int16."""
    import av

    with av.open(str(path)) as container:
        parts = [frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)]
    audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return np.clip(audio * 32767.0, -32768, 32767).astype(np.int16)


def on_meeting_clock(path: Any, spans: Any, length: int) -> np.ndarray:
    """A track placed on the meeting clock through its timeline (silence where its speaker was not heard)."""
    stored = decode_track(path)
    out = np.zeros(length, dtype=np.int16)
    for track_start, meeting_start, span in spans:
        piece = stored[track_start : track_start + span][: max(0, length - meeting_start)]
        out[meeting_start : meeting_start + len(piece)] = piece
    return out
