"""The offline reply engine: answers only with the star's own words.

It retrieves past exchanges whose words resemble the new message and replies with what the star actually
answered then (``compose_offline_reply`` chooses). Nothing is generated, so nothing is invented; it is
deterministic and fast.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Sequence

from core.personas.offline_compose import ReplyCandidate, compose_offline_reply
from core.storage.memory import Exchange, MemoryStore

ENGINE_NAME = "offline"
MEMORY_LIMIT = 6  # past exchanges a reply chooses among (the LLM prompt quotes as many)
_OWN_WORDS_WEIGHT = 0.6


def _seed(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


class OfflineChat:
    """Chooses among the star's real replies; caches each star's most frequent short messages.

    The cache is keyed by the star's export version (see ``MemoryStore.export_version``): another process
    importing more messages changes it, so no process keeps answering from an outdated export.
    """

    name = ENGINE_NAME

    def __init__(self, memory: MemoryStore, *, cache_size: int = 64) -> None:
        self.memory = memory
        self._frequent: OrderedDict[str, tuple[int, tuple[str, ...]]] = OrderedDict()
        self._cache_size = cache_size

    async def frequent_lines(self, star_id: str, *, export_version: int | None = None) -> tuple[str, ...]:
        """The star's most frequent short messages (fallback replies and style examples).

        ``export_version``: the star's current export version when the caller read it (else read here).
        """
        if export_version is None:
            export_version = await self.memory.export_version(star_id)
        cached = self._frequent.get(star_id)
        if cached is not None and cached[0] == export_version:
            self._frequent.move_to_end(star_id)
            return cached[1]
        texts = (text.strip() for text in await self.memory.star_texts(star_id))
        counts = Counter(text for text in texts if 0 < len(text) <= 40)
        lines = tuple(text for text, _ in counts.most_common(12))
        # Stored under the version read before the messages: an import in between makes the next turn's
        # version differ, and the lines are read again.
        self._frequent[star_id] = (export_version, lines)
        self._frequent.move_to_end(star_id)
        if len(self._frequent) > self._cache_size:
            self._frequent.popitem(last=False)
        return lines

    def forget(self, star_id: str) -> None:
        """Drop cached lines of a deleted star."""
        self._frequent.pop(star_id, None)

    async def reply(
        self,
        star_id: str,
        message: str,
        *,
        turn_index: int,
        recent: Sequence[str] = (),
        export_version: int | None = None,
        exchanges: Sequence[Exchange] | None = None,
    ) -> list[str]:
        """The star's bubbles for ``message``, taken from the imported conversation (``[]``: nothing fits).

        ``export_version``: the star's export version when the caller already read it; ``exchanges``: the
        memory search for ``message`` (``MEMORY_LIMIT`` exchanges) when the caller already ran it.
        """
        if exchanges is None:
            exchanges = await self.memory.search(
                star_id, message, limit=MEMORY_LIMIT, export_version=export_version
            )
        candidates = [
            ReplyCandidate(
                past_user_text=" ".join(m.text for m in ex.prompt),
                star_reply=tuple(m.text for m in ex.reply if m.kind == "text"),
                # The star's answer to a similar message beats the star having said similar words.
                similarity=ex.score * (_OWN_WORDS_WEIGHT if ex.hit_is_star else 1.0),
            )
            for ex in exchanges
        ]
        return compose_offline_reply(
            candidates,
            message,
            _seed(star_id, str(turn_index)),
            fallback_lines=await self.frequent_lines(star_id, export_version=export_version),
            recent=recent,
        )
