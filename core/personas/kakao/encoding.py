"""Encoding detection for KakaoTalk exports: BOM, then strict UTF-8, then CP949, then the least damaged.

Every check streams the bytes in chunks through an incremental decoder, so memory stays bounded and the
cost is one fast C pass per candidate. A file that no candidate decodes cleanly is read with the decoder
that produced the fewest replacement characters; the parser then skips the lines that carry them.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from core.personas.kakao.model import KakaoParseError

CHUNK = 1 << 18
_SNIFF = 1 << 16

Source = str | Path | bytes | bytearray | memoryview


def open_binary(source: Source) -> BinaryIO:
    """Open a path or wrap in-memory bytes as a binary stream."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    return Path(source).open("rb")


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        yield chunk


def _decodes_cleanly(stream: BinaryIO, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        for chunk in _chunks(stream):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _damage(stream: BinaryIO, encoding: str) -> int:
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    bad = 0
    for chunk in _chunks(stream):
        bad += decoder.decode(chunk).count("\ufffd")
    return bad + decoder.decode(b"", final=True).count("\ufffd")


def detect_encoding(stream: BinaryIO) -> tuple[str, str]:
    """Return ``(codec, errors)`` for reading ``stream``: the codec name and ``strict`` or ``replace``.

    Raises ``KakaoParseError`` for an empty file and for binary data (NUL bytes without a UTF-16 BOM).
    """
    stream.seek(0)
    head = stream.read(_SNIFF)
    if not head.strip():
        raise KakaoParseError("kakao.error.empty_file", line=None if not head else 1)
    if head.startswith(codecs.BOM_UTF8):
        codec = "utf-8-sig"
        return codec, "strict" if _decodes_cleanly(stream, codec) else "replace"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "strict" if _decodes_cleanly(stream, "utf-16") else "replace"
    if b"\x00" in head:
        raise KakaoParseError("kakao.error.binary", line=head.count(b"\n", 0, head.index(b"\x00")) + 1)
    for codec in ("utf-8", "cp949"):
        if _decodes_cleanly(stream, codec):
            return codec, "strict"
    best = min(("utf-8", "cp949"), key=lambda codec: _damage(stream, codec))
    return best, "replace"


def text_lines(stream: BinaryIO, codec: str, errors: str) -> io.TextIOWrapper:
    """A text stream over ``stream`` with universal newlines (``\\r\\n`` and ``\\r`` become ``\\n``)."""
    stream.seek(0)
    return io.TextIOWrapper(stream, encoding=codec, errors=errors, newline=None)
