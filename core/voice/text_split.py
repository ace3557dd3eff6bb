"""Split text into speakable chunks at sentence boundaries, each within a character limit.

Synthesizers have per-language input limits (XTTS truncates audio past them) and long inputs are slow, so
text is cut at sentence ends first, then at clause punctuation, then at spaces, and only as a last resort
inside a word. Short sentences are packed together up to the limit so prosody stays natural. Korean and
English punctuation (including full-width forms) are understood.
"""

from __future__ import annotations

import re

# Sentence ends: runs of terminators with any closing quotes or brackets after them.
_SENTENCE_END = re.compile(r"[.!?…。！？‼⁉]+[\"'”’」』)\]]*")
# Clause boundaries, used only when a sentence alone is over the limit.
_CLAUSE_END = re.compile(r"[,;:、，；：—–]+")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class TextTooLong(ValueError):
    """The text is longer than a synthesizer accepts in one request."""

    def __init__(self, length: int, max_chars: int) -> None:
        super().__init__(f"text has {length} characters; at most {max_chars} can be spoken at once")
        self.length = length
        self.max_chars = max_chars


def normalize_text(text: str) -> str:
    """Drop control characters and collapse whitespace (line breaks become sentence breaks)."""
    text = _CONTROL.sub(" ", text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def _is_boundary(text: str, end: int) -> bool:
    """A terminator ends a sentence when followed by space, the end, or a letter (``안녕.잘 가``)."""
    if end >= len(text):
        return True
    nxt = text[end]
    if nxt.isspace():
        return True
    # "3.5", "e.g." and "vos.ai" stay whole; Korean chat often omits the space ("응.알았어").
    return not nxt.isdigit() and not nxt.isascii()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (line breaks also end sentences), stripped and non-empty."""
    out: list[str] = []
    for line in normalize_text(text).split("\n"):
        start = 0
        for match in _SENTENCE_END.finditer(line):
            if _is_boundary(line, match.end()):
                piece = line[start : match.end()].strip()
                if piece:
                    out.append(piece)
                start = match.end()
        rest = line[start:].strip()
        if rest:
            out.append(rest)
    return out


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    """Cut one over-long sentence at the last clause mark, else the last space, else hard."""
    pieces: list[str] = []
    rest = sentence
    while len(rest) > max_chars:
        window = rest[: max_chars + 1]
        cut = 0
        for match in _CLAUSE_END.finditer(window):
            if match.end() <= max_chars:
                cut = match.end()
        if cut == 0 or cut < max_chars // 3:
            space = window.rfind(" ")
            cut = space if space > 0 else max_chars
        head, rest = rest[:cut].strip(), rest[cut:].strip()
        if head:
            pieces.append(head)
    if rest:
        pieces.append(rest)
    return pieces


def split_text(text: str, max_chars: int) -> list[str]:
    """Chunks of at most ``max_chars`` characters, cut at sentence boundaries where possible.

    Joining the chunks with spaces gives back the normalized text (whitespace aside): nothing is dropped.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    chunks: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        for piece in _cut_long(sentence, max_chars):
            if current and len(current) + 1 + len(piece) <= max_chars:
                current = f"{current} {piece}"
            else:
                if current:
                    chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def check_length(text: str, max_chars: int) -> str:
    """The normalized text, or :class:`TextTooLong` when it is over ``max_chars`` characters."""
    normalized = normalize_text(text)
    if len(normalized) > max_chars:
        raise TextTooLong(len(normalized), max_chars)
    return normalized
