"""The JSON contract of ``vos kakao inspect FILE --json``: keep its keys and formats stable."""

from __future__ import annotations

from collections import Counter
from typing import Any

from core.personas.kakao.encoding import Source
from core.personas.kakao.model import KakaoParseError
from core.personas.kakao.parser import KakaoReader


def inspect_export(source: Source, *, with_messages: bool = False, extras: bool = False) -> dict[str, Any]:
    """Summarise an export as ``{"shape", "encoding", "participants", "messages", "first", "last"}``.

    ``participants`` maps each author to their message count (text, media placeholders and deleted markers;
    never system lines), most active first. Times are ISO 8601 local times without a zone
    (``2023-01-05T15:04:00``). ``with_messages`` adds ``"message_list"``: every message as
    ``{"time", "author", "kind", "text"}`` with multi-line texts joined by ``\\n``. ``extras`` adds
    ``"title"`` and ``"skipped_lines"`` (for a warning on partly readable files). Streams the file, so
    memory stays flat without ``with_messages``.
    """
    reader = KakaoReader(source)
    counts: Counter[str] = Counter()
    first = last = None
    total = 0
    listed: list[dict[str, str]] = []
    for message in reader.messages():
        counts[message.author] += 1
        total += 1
        if first is None:
            first = message.time
        last = message.time
        if with_messages:
            listed.append(
                {
                    "time": message.time.isoformat(),
                    "author": message.author,
                    "kind": message.kind,
                    "text": message.text,
                }
            )
    if first is None or last is None:
        if reader.first_skipped_line is not None:
            raise KakaoParseError("kakao.error.damaged", line=reader.first_skipped_line)
        raise KakaoParseError("kakao.error.no_messages")
    result: dict[str, Any] = {
        "shape": reader.shape,
        "encoding": reader.encoding,
        "participants": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "messages": total,
        "first": first.isoformat(),
        "last": last.isoformat(),
    }
    if extras:
        result["title"] = reader.title
        result["skipped_lines"] = reader.skipped_lines
    if with_messages:
        result["message_list"] = listed
    return result
