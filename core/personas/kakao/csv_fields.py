"""The fields of a macOS CSV export record: ``DATE,USER,MESSAGE`` with CSV quoting undone."""

from __future__ import annotations


def _take_field(text: str, pos: int, last: bool) -> tuple[str, int] | None:
    """Read one CSV field at ``pos``; return it and the position after its comma (or the end)."""
    if text.startswith('"', pos):
        i = pos + 1
        parts: list[str] = []
        while True:
            q = text.find('"', i)
            if q < 0:
                return None
            parts.append(text[i:q])
            if text.startswith('"', q + 1):
                parts.append('"')
                i = q + 2
                continue
            end = q + 1
            break
        value = "".join(parts)
        if last:
            return (value, end) if not text[end:].strip() else None
        return (value, end + 1) if text.startswith(",", end) else None
    if last:
        return text[pos:], len(text)
    comma = text.find(",", pos)
    return None if comma < 0 else (text[pos:comma], comma + 1)


def split_csv_record(text: str) -> tuple[str, str] | None:
    """Split ``DATE,USER,MESSAGE`` into user and message, undoing CSV quoting; ``None`` if malformed."""
    if text[20:21] == '"' and text[-1:] == '"':
        # Fast path: both fields quoted and neither contains a quote of its own.
        sep = text.find('","', 21)
        if sep > 0 and text.count('"') == 4:
            return text[21:sep], text[sep + 3 : -1]
    user = _take_field(text, 20, last=False)
    if user is None:
        return None
    body = _take_field(text, user[1], last=True)
    return None if body is None else (user[0], body[0])
