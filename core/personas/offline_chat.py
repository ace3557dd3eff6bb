"""The offline reply engine: answers only with the star's own words.

It retrieves past exchanges whose user side resembles the new message and replies with what the star
actually answered then. Nothing is generated, so nothing is invented; it is deterministic and fast.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from dataclasses import dataclass

from core.storage.memory import Exchange, MemoryStore

ENGINE_NAME = "offline"
_MAX_BUBBLES = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class OfflineReply:
    """The chosen bubbles and the exchange they came from (``None`` for a fallback line)."""

    bubbles: tuple[str, ...]
    source: Exchange | None


def _pick(options: int, *seed_parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(seed_parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") % max(1, options)


class OfflineChat:
    """Chooses among the star's real replies; caches each star's most frequent short messages."""

    name = ENGINE_NAME

    def __init__(self, memory: MemoryStore, *, cache_size: int = 64) -> None:
        self.memory = memory
        self._fallbacks: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._cache_size = cache_size

    async def frequent_lines(self, star_id: str) -> tuple[str, ...]:
        """The star's most frequent short messages (fallback replies and style examples)."""
        cached = self._fallbacks.get(star_id)
        if cached is not None:
            self._fallbacks.move_to_end(star_id)
            return cached
        msgs = await self.memory.messages(star_id, star_only=True)
        counts = Counter(m.text.strip() for m in msgs if 0 < len(m.text.strip()) <= 40)
        lines = tuple(text for text, _ in counts.most_common(12))
        self._fallbacks[star_id] = lines
        if len(self._fallbacks) > self._cache_size:
            self._fallbacks.popitem(last=False)
        return lines

    def forget(self, star_id: str) -> None:
        """Drop cached lines of a deleted star."""
        self._fallbacks.pop(star_id, None)

    async def reply(self, star_id: str, message: str, *, turn_index: int, last_star_text: str = "") -> OfflineReply:
        """The star's reply to ``message`` taken from the imported conversation."""
        exchanges = [
            ex
            for ex in await self.memory.search(star_id, message, limit=6)
            if any(m.kind == "text" and m.text.strip() for m in ex.reply)
        ]
        if exchanges:
            best = exchanges[0].score
            close = [ex for ex in exchanges if ex.score >= 0.6 * best]
            fresh = [ex for ex in close if "\n".join(m.text for m in ex.reply) != last_star_text] or close
            chosen = fresh[_pick(len(fresh), star_id, message, str(turn_index))]
            bubbles = tuple(m.text for m in chosen.reply if m.kind == "text" and m.text.strip())[:_MAX_BUBBLES]
            return OfflineReply(bubbles=bubbles, source=chosen)
        lines = await self.frequent_lines(star_id)
        if not lines:
            return OfflineReply(bubbles=(), source=None)
        return OfflineReply(bubbles=(lines[_pick(len(lines), star_id, message, str(turn_index))],), source=None)
