"""RTP parsing for Discord voice packets (RFC 3550 header, RFC 8285 header extensions).

Discord's ``*_rtpsize`` transport modes leave the fixed header, the CSRC list and the 4-byte extension
header (profile + length) in clear; the extension *body* is encrypted together with the payload, so it
can only be stripped after transport decryption (:func:`strip_extension_body`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
FIXED_HEADER_SIZE = 12
EXTENSION_HEADER_SIZE = 4
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE_MASK = 0xFFF0
TWO_BYTE_PROFILE = 0x1000
# RTCP packet types 200-204 share the socket with RTP (RFC 5761); Discord sends receiver reports there.
_RTCP_TYPES = range(200, 205)


class RtpError(ValueError):
    """A packet is not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RtpPacket:
    """One RTP packet as received; ``payload`` is still transport-encrypted."""

    marker: bool
    padding: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    csrcs: tuple[int, ...]
    header: bytes
    """The clear prefix: fixed header, CSRCs and (if present) the 4-byte extension header; the AEAD's AAD."""
    extension_profile: int | None
    extension_words: int
    """Length of the (encrypted) extension body in 32-bit words."""
    payload: bytes


def is_rtcp(data: bytes) -> bool:
    """Whether a datagram is RTCP rather than RTP (second byte is an RTCP packet type)."""
    return len(data) >= 2 and data[1] in _RTCP_TYPES


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse the clear part of an rtpsize packet; raises :class:`RtpError` on malformed input."""
    if len(data) < FIXED_HEADER_SIZE:
        raise RtpError(f"packet too short for RTP: {len(data)} bytes")
    first, second = data[0], data[1]
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"not RTP version 2: {first >> 6}")
    csrc_count = first & 0x0F
    has_extension = bool(first & 0x10)
    sequence, timestamp, ssrc = struct.unpack_from(">HII", data, 2)
    offset = FIXED_HEADER_SIZE + 4 * csrc_count
    if len(data) < offset:
        raise RtpError("packet too short for its CSRC list")
    csrcs = struct.unpack_from(f">{csrc_count}I", data, FIXED_HEADER_SIZE)
    profile: int | None = None
    words = 0
    if has_extension:
        if len(data) < offset + EXTENSION_HEADER_SIZE:
            raise RtpError("packet too short for its extension header")
        profile, words = struct.unpack_from(">HH", data, offset)
        offset += EXTENSION_HEADER_SIZE
    return RtpPacket(
        marker=bool(second & 0x80),
        padding=bool(first & 0x20),
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        csrcs=tuple(csrcs),
        header=bytes(data[:offset]),
        extension_profile=profile,
        extension_words=words,
        payload=bytes(data[offset:]),
    )


def strip_extension_body(packet: RtpPacket, plaintext: bytes) -> bytes:
    """Remove the decrypted extension body (and RTP padding) from a decrypted payload."""
    body = 4 * packet.extension_words
    if len(plaintext) < body:
        raise RtpError("decrypted payload shorter than its header extension")
    media = plaintext[body:]
    if packet.padding:
        if not media or media[-1] == 0 or media[-1] > len(media):
            raise RtpError("invalid RTP padding")
        media = media[: -media[-1]]
    return media


def parse_extension_elements(profile: int, body: bytes) -> list[tuple[int, bytes]]:
    """Split an extension body into RFC 8285 ``(id, data)`` elements (one-byte or two-byte form)."""
    elements: list[tuple[int, bytes]] = []
    i = 0
    if profile == ONE_BYTE_PROFILE:
        while i < len(body):
            if body[i] == 0:  # padding byte
                i += 1
                continue
            ident, length = body[i] >> 4, (body[i] & 0x0F) + 1
            if ident == 15:  # reserved: stop parsing per RFC 8285
                break
            elements.append((ident, bytes(body[i + 1 : i + 1 + length])))
            i += 1 + length
    elif profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
        while i + 1 < len(body):
            if body[i] == 0:
                i += 1
                continue
            ident, length = body[i], body[i + 1]
            elements.append((ident, bytes(body[i + 2 : i + 2 + length])))
            i += 2 + length
    else:
        raise RtpError(f"unknown header extension profile {profile:#06x}")
    return elements


def build_extension_body(profile: int, elements: list[tuple[int, bytes]]) -> bytes:
    """Serialize RFC 8285 elements and pad to a 32-bit boundary (used by senders and tests)."""
    out = bytearray()
    for ident, data in elements:
        if profile == ONE_BYTE_PROFILE:
            if not 1 <= ident <= 14 or not 1 <= len(data) <= 16:
                raise RtpError("one-byte extension element out of range")
            out += bytes([(ident << 4) | (len(data) - 1)]) + data
        else:
            out += bytes([ident, len(data)]) + data
    out += bytes(-len(out) % 4)
    return bytes(out)


def build_rtp_header(
    *,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload_type: int = 0x78,
    csrcs: tuple[int, ...] = (),
    extension_profile: int | None = None,
    extension_words: int = 0,
    padding: bool = False,
) -> bytes:
    """Build the clear rtpsize prefix (the inverse of :func:`parse_rtp`'s ``header``)."""
    first = (RTP_VERSION << 6) | (0x20 if padding else 0) | len(csrcs)
    if extension_profile is not None:
        first |= 0x10
    header = struct.pack(">BBHII", first, payload_type, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc)
    header += struct.pack(f">{len(csrcs)}I", *csrcs)
    if extension_profile is not None:
        header += struct.pack(">HH", extension_profile, extension_words)
    return header
