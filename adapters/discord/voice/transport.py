"""Transport-layer AEAD for Discord voice (``*_rtpsize`` modes), the inverse of discord.py's sender.

discord.py 2.7.1 (``VoiceClient._encrypt_aead_xchacha20_poly1305_rtpsize``) builds a packet as
``header + AEAD(plaintext, aad=header, nonce=counter_be32 + zeros) + counter_be32``: the 4-byte big-endian
counter sits at the *start* of the full nonce and is appended to the packet. The AES-256-GCM mode uses the
same layout with a 12-byte nonce (Discord voice docs). Here ``header`` is the whole clear rtpsize prefix
(fixed header + CSRCs + 4-byte extension header), and the plaintext starts with the extension body.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Protocol

from adapters.discord.voice.rtp import RtpPacket

XCHACHA20 = "aead_xchacha20_poly1305_rtpsize"
AES256_GCM = "aead_aes256_gcm_rtpsize"
SUPPORTED_MODES = (AES256_GCM, XCHACHA20)
NONCE_SUFFIX_SIZE = 4
TAG_SIZE = 16
KEY_SIZE = 32


class TransportError(ValueError):
    """A packet failed transport decryption (wrong key, tampered, truncated)."""


class TransportCipher(Protocol):
    """Decrypts one packet's encrypted part given its clear header."""

    mode: str

    def decrypt(self, packet: RtpPacket) -> bytes:
        """Return the plaintext (extension body + media frame) or raise :class:`TransportError`."""
        ...

    def encrypt(self, header: bytes, plaintext: bytes) -> bytes:
        """Return a full packet ``header + ciphertext + tag + counter`` (senders and tests)."""
        ...


def _split(packet: RtpPacket) -> tuple[bytes, bytes]:
    body = packet.payload
    if len(body) < TAG_SIZE + NONCE_SUFFIX_SIZE:
        raise TransportError(f"encrypted payload too short: {len(body)} bytes")
    return body[:-NONCE_SUFFIX_SIZE], body[-NONCE_SUFFIX_SIZE:]


@dataclass(slots=True)
class XChaCha20Cipher:
    """``aead_xchacha20_poly1305_rtpsize`` via libsodium (PyNaCl), 24-byte nonce."""

    key: bytes
    mode: str = XCHACHA20
    _counter: int = field(default=0, repr=False)

    def decrypt(self, packet: RtpPacket) -> bytes:
        from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
        from nacl.exceptions import CryptoError

        ciphertext, suffix = _split(packet)
        nonce = suffix + bytes(20)
        try:
            return bytes(
                crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, packet.header, nonce, self.key)
            )
        except CryptoError as exc:
            raise TransportError("xchacha20-poly1305 authentication failed") from exc

    def encrypt(self, header: bytes, plaintext: bytes) -> bytes:
        from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

        suffix = struct.pack(">I", self._counter)
        self._counter = (self._counter + 1) & 0xFFFFFFFF
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, header, suffix + bytes(20), self.key)
        return header + bytes(sealed) + suffix


@dataclass(slots=True)
class Aes256GcmCipher:
    """``aead_aes256_gcm_rtpsize`` via ``cryptography``'s AESGCM, 12-byte nonce."""

    key: bytes
    mode: str = AES256_GCM
    _counter: int = field(default=0, repr=False)

    def decrypt(self, packet: RtpPacket) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        ciphertext, suffix = _split(packet)
        try:
            return AESGCM(self.key).decrypt(suffix + bytes(8), ciphertext, packet.header)
        except InvalidTag as exc:
            raise TransportError("aes256-gcm authentication failed") from exc

    def encrypt(self, header: bytes, plaintext: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        suffix = struct.pack(">I", self._counter)
        self._counter = (self._counter + 1) & 0xFFFFFFFF
        return header + AESGCM(self.key).encrypt(suffix + bytes(8), plaintext, header) + suffix


def make_cipher(mode: str, secret_key: bytes | list[int]) -> TransportCipher:
    """Build the cipher for a negotiated mode; the key comes from SESSION_DESCRIPTION (32 bytes)."""
    key = bytes(secret_key)
    if len(key) != KEY_SIZE:
        raise ValueError(f"voice secret key must be {KEY_SIZE} bytes, got {len(key)}")
    if mode == XCHACHA20:
        return XChaCha20Cipher(key)
    if mode == AES256_GCM:
        return Aes256GcmCipher(key)
    raise ValueError(f"unsupported voice encryption mode {mode!r}; supported: {', '.join(SUPPORTED_MODES)}")
