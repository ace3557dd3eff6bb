"""Where text may be cut without splitting a user-perceived character (a grapheme cluster).

Messages longer than a platform's limit are split; a cut inside a ZWJ emoji sequence (👨‍👩‍👧‍👦), a flag, an
emoji with a skin tone, a keycap or a letter with combining marks would show two broken halves. This is
the part of Unicode's extended grapheme cluster rules (UAX #29) that matters for that, in the standard
library only.
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
_EXTEND_CATEGORIES = frozenset({"Mn", "Me", "Mc"})


def _is_extend(char: str) -> bool:
    """A character that never starts a cluster: marks, ZWJ, selectors, skin tones, tags, Hangul V/T."""
    code = ord(char)
    return (
        char == ZWJ
        or unicodedata.category(char) in _EXTEND_CATEGORIES
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji presentation)
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
        or 0x1160 <= code <= 0x11FF  # Hangul medial vowels and final consonants
        or 0xD7B0 <= code <= 0xD7FF
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def is_boundary(text: str, index: int) -> bool:
    """Whether ``text`` may be cut before ``text[index]``."""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == "\r" and after == "\n":
        return False
    if _is_extend(after) or before == ZWJ:
        return False
    if 0x1100 <= ord(before) <= 0x115F and (0x1100 <= ord(after) <= 0x11FF or 0xAC00 <= ord(after) <= 0xD7A3):
        return False  # a Hangul leading consonant joins what follows
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        while index - 1 - run >= 0 and _is_regional_indicator(text[index - 1 - run]):
            run += 1
        return run % 2 == 0  # flags are pairs: cut only between pairs
    return True


def boundary_at_or_before(text: str, index: int) -> int:
    """The nearest cut position at or before ``index`` that splits no grapheme cluster (0 if none)."""
    index = min(max(index, 0), len(text))
    while index > 0 and not is_boundary(text, index):
        index -= 1
    return index
