"""KakaoTalk chat exports: every shape KakaoTalk writes, parsed into authored messages.

Public API: ``parse_export`` (whole export), ``KakaoReader`` (streaming), ``inspect_export`` (the
``vos kakao inspect --json`` contract), the types ``KakaoMessage``/``KakaoExport`` and ``KakaoParseError``.
"""

from core.personas.kakao.inspect import inspect_export
from core.personas.kakao.model import (
    SHAPES,
    KakaoExport,
    KakaoMessage,
    KakaoParseError,
    MessageKind,
    Shape,
    counts_by_author,
)
from core.personas.kakao.parser import KakaoReader, parse_export

__all__ = [
    "SHAPES",
    "KakaoExport",
    "KakaoMessage",
    "KakaoParseError",
    "KakaoReader",
    "MessageKind",
    "Shape",
    "counts_by_author",
    "inspect_export",
    "parse_export",
]
