"""RTP parsing/stripping and the transport ciphers, checked against discord.py's own encryption."""

from __future__ import annotations

import os
import struct

import pytest

from adapters.discord.voice.rtp import (
    ONE_BYTE_PROFILE,
    RtpError,
    build_extension_body,
    build_rtp_header,
    is_rtcp,
    parse_extension_elements,
    parse_rtp,
    strip_extension_body,
)
from adapters.discord.voice.transport import AES256_GCM, XCHACHA20, TransportError, make_cipher
from tests.support.extras import need


def test_parse_header_with_csrcs_and_extension_header():
    header = build_rtp_header(
        sequence=65535,
        timestamp=2**32 - 1,
        ssrc=0xDEADBEEF,
        csrcs=(7, 9),
        extension_profile=0xBEDE,
        extension_words=2,
    )
    packet = parse_rtp(header + b"encrypted-part")
    assert (packet.sequence, packet.timestamp, packet.ssrc) == (65535, 2**32 - 1, 0xDEADBEEF)
    assert packet.csrcs == (7, 9)
    assert packet.header == header
    assert len(header) == 12 + 8 + 4
    assert (packet.extension_profile, packet.extension_words) == (0xBEDE, 2)
    assert packet.payload == b"encrypted-part"
    assert packet.payload_type == 0x78


@pytest.mark.parametrize(
    ("profile", "elements"),
    [(ONE_BYTE_PROFILE, [(1, b"\x9f"), (3, b"abcdefghijklmnop")]), (0x1000, [(1, b""), (200, bytes(40))])],
)
def test_extension_elements_round_trip_and_strip(profile, elements):
    body = build_extension_body(profile, elements)
    assert len(body) % 4 == 0
    assert parse_extension_elements(profile, body) == elements
    header = build_rtp_header(
        sequence=1, timestamp=2, ssrc=3, extension_profile=profile, extension_words=len(body) // 4
    )
    packet = parse_rtp(header + b"x" * 30)
    assert strip_extension_body(packet, body + b"OPUS") == b"OPUS"


def test_padding_is_removed_and_bad_padding_rejected():
    packet = parse_rtp(build_rtp_header(sequence=1, timestamp=2, ssrc=3, padding=True) + b"z" * 20)
    assert strip_extension_body(packet, b"OPUS\x00\x00\x03") == b"OPUS"
    with pytest.raises(RtpError):
        strip_extension_body(packet, b"OPUS\x09")


@pytest.mark.parametrize(
    "data", [b"", b"\x80\x78", bytes(11), b"\x40" + bytes(20), b"\x8f" + bytes(20), b"\x90" + bytes(12)]
)
def test_malformed_packets_raise(data):
    with pytest.raises(RtpError):
        parse_rtp(data)


def test_rtcp_is_recognised():
    assert is_rtcp(b"\x81\xc9" + bytes(30))
    assert not is_rtcp(build_rtp_header(sequence=1, timestamp=2, ssrc=3))


class _DiscordPySender:
    """Just the attributes discord.py's VoiceClient encryption method reads."""

    def __init__(self, key: bytes) -> None:
        self.secret_key = list(key)
        self._incr_nonce = 0

    def checked_add(self, attr, value, limit):
        setattr(self, attr, (getattr(self, attr) + value) % limit)


def test_xchacha_decrypts_what_discord_py_encrypts():
    discord = need("discord")
    key = os.urandom(32)
    sender = _DiscordPySender(key)
    cipher = make_cipher(XCHACHA20, key)
    for seq in range(3):
        header = bytearray(build_rtp_header(sequence=seq, timestamp=960 * seq, ssrc=42))
        datagram = discord.VoiceClient._encrypt_aead_xchacha20_poly1305_rtpsize(
            sender, header, b"opus%d" % seq
        )
        assert cipher.decrypt(parse_rtp(datagram)) == b"opus%d" % seq
        assert datagram[-4:] == struct.pack(">I", seq)  # the nonce counter trails the packet


@pytest.mark.parametrize("mode", [XCHACHA20, AES256_GCM])
def test_header_extension_is_authenticated_and_body_encrypted(mode):
    key = os.urandom(32)
    body = build_extension_body(ONE_BYTE_PROFILE, [(1, b"\x42")])
    header = build_rtp_header(
        sequence=5, timestamp=6, ssrc=7, extension_profile=ONE_BYTE_PROFILE, extension_words=len(body) // 4
    )
    datagram = make_cipher(mode, key).encrypt(header, body + b"OPUSFRAME")
    assert b"OPUSFRAME" not in datagram
    receiver = make_cipher(mode, key)
    assert strip_extension_body(parse_rtp(datagram), receiver.decrypt(parse_rtp(datagram))) == b"OPUSFRAME"
    tampered_header = bytearray(datagram)
    tampered_header[3] ^= 1  # sequence number is AAD
    tampered_tail = bytearray(datagram)
    tampered_tail[-6] ^= 1
    for bad in (bytes(tampered_header), bytes(tampered_tail), datagram[: len(header) + 10]):
        with pytest.raises(TransportError):
            receiver.decrypt(parse_rtp(bad))
    with pytest.raises(TransportError):
        make_cipher(mode, os.urandom(32)).decrypt(parse_rtp(datagram))


def test_unknown_mode_and_bad_key_are_refused():
    with pytest.raises(ValueError, match="xsalsa20_poly1305"):
        make_cipher("xsalsa20_poly1305", bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        make_cipher(XCHACHA20, bytes(16))
