"""Style examples for the LLM, chosen for variety rather than frequency.

The most frequent lines of a chat are its small talk ("밥은?"), and a prompt that shows only those pulls
every reply towards them. Examples here spread over lengths (short, medium, long) and endings (how the
star closes a sentence: ~, ㅎㅎ, 니?, 해, !), and two examples never share a content word, so they also
spread over topics. The choice is deterministic: the same messages always give the same examples.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence

from core.personas.offline_compose import is_placeholder

_WORD = re.compile(r"[0-9A-Za-z\uac00-\ud7a3]{2,}")
_LENGTHS = (8, 20, 45)  # upper bounds of the short, medium and long buckets; longer is "very long"
_MAX_CHARS = 140


def _length_bucket(text: str) -> int:
    return next((i for i, bound in enumerate(_LENGTHS) if len(text) <= bound), len(_LENGTHS))


def _ending(text: str) -> str:
    tail = text.rstrip()
    return tail[-2:] if len(tail) >= 2 else tail


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode(), usedforsecurity=False).digest()


def varied_examples(texts: Sequence[str], *, count: int = 8) -> tuple[str, ...]:
    """Up to ``count`` of ``texts`` that differ in length, ending and topic."""
    groups: dict[tuple[int, str], list[str]] = defaultdict(list)
    for text in dict.fromkeys(t.strip() for t in texts):
        if 2 <= len(text) <= _MAX_CHARS and not is_placeholder(text):
            groups[(_length_bucket(text), _ending(text))].append(text)
    if not groups:
        return ()
    # Groups by size (endings the star really uses first), each sorted by a hash: a fair, fixed draw.
    ordered = sorted(groups.values(), key=lambda g: (-len(g), _key(g[0])))
    for group in ordered:
        group.sort(key=_key)
    by_length: dict[int, list[list[str]]] = defaultdict(list)
    for group in ordered:
        by_length[_length_bucket(group[0])].append(group)
    chosen: list[str] = []
    words: set[str] = set()
    endings: set[str] = set()
    rounds = 0
    while len(chosen) < count and rounds < 4 * count:
        rounds += 1
        progressed = False
        for bucket in sorted(by_length):
            if len(chosen) >= count:
                break
            pick = _next(by_length[bucket], words, endings)
            if pick is not None:
                chosen.append(pick)
                words.update(_WORD.findall(pick))
                endings.add(_ending(pick))
                progressed = True
        if not progressed:
            endings.clear()  # every ending used once: allow repeats, still no shared topic word
            if not any(_next(groups_, words, endings, peek=True) for groups_ in by_length.values()):
                break
    return tuple(chosen)


def _next(groups: list[list[str]], words: set[str], endings: set[str], *, peek: bool = False) -> str | None:
    for group in groups:
        if not group or _ending(group[0]) in endings:
            continue
        for i, text in enumerate(group):
            if words.isdisjoint(_WORD.findall(text)):
                if not peek:
                    del group[i]
                return text
    return None
