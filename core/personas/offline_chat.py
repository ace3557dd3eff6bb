"""The offline reply engine: answers only with the star's own words, chosen by meaning and mood.

It searches the star's memory for moments that mean the same as the new message (the hybrid search of
``MemoryStore``) and replies with what the star actually answered in them; within a moment, the exchange
whose words are closest to the message wins. Sad news gets no laughter back: laughing bubbles are dropped
and replies to other sad moments are preferred. Nothing is generated, so nothing is invented.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, OrderedDict
from collections.abc import Sequence

from core.personas.offline_compose import ReplyCandidate, compose_offline_reply
from core.personas.style.examples import varied_examples
from core.storage.memory import MemoryQuery, MemoryStore, Recollection
from core.storage.moments import exchanges
from core.text.mood import is_sad, laughs, without_laughter

ENGINE_NAME = "offline"
MEMORY_LIMIT = 6  # moments a reply chooses among (the LLM prompt quotes as many)
# Cosines of multilingual-e5 sentence vectors sit between ~0.75 (unrelated) and ~0.92 (same meaning):
# mapped to [0, 1] so ``compose_offline_reply``'s threshold reads "means about the same".
_COS_FLOOR = 0.80
_COS_FULL = 0.90
_MOOD_BONUS = 1.2
_TEXTS_READ = 20_000  # the star's most recent texts read for fallback lines and style examples


def _seed(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def relevance(memory: Recollection) -> float:
    """How well a recalled moment matches the message, in [0, 1]: meaning, or else shared words."""
    meaning = (memory.similarity - _COS_FLOOR) / (_COS_FULL - _COS_FLOOR)
    return max(0.0, min(1.0, max(meaning, memory.lexical)))


def _overlap(tokens: Sequence[str], text: str) -> float:
    if not tokens:
        return 0.0
    lowered = text.lower()
    return sum(1 for t in tokens if t in lowered) / len(tokens)


def reply_candidates(memories: Sequence[Recollection], query: MemoryQuery) -> list[ReplyCandidate]:
    """The star's answers in the recalled moments, weighted by meaning, shared words and mood."""
    sad = is_sad(query.text)
    candidates: list[ReplyCandidate] = []
    for memory in memories:
        if memory.source != "export":  # replies come from the star's own messages, never from VOS
            continue
        base = relevance(memory)
        for said, answer in exchanges(memory.lines):
            bubbles = tuple(line.text for line in answer)
            if not said or not bubbles:
                continue
            past = " ".join(line.text for line in said)
            weight = base * (0.75 + 0.25 * _overlap(query.tokens, past))
            if sad:
                bubbles = tuple(b for b in (without_laughter(x) for x in bubbles) if b)
                weight *= _MOOD_BONUS if is_sad(past) else 1.0
                weight /= 2.0 if laughs(past) else 1.0
            if bubbles:
                candidates.append(
                    ReplyCandidate(past_user_text=past, star_reply=bubbles, similarity=min(1.0, weight))
                )
    return candidates


class OfflineChat:
    """Chooses among the star's real replies; caches each star's fallback lines and style examples.

    The cache is keyed by the star's export version (see ``MemoryStore.export_version``): another process
    importing more messages changes it, so no process keeps answering from an outdated export.
    """

    name = ENGINE_NAME

    def __init__(self, memory: MemoryStore, *, cache_size: int = 64) -> None:
        self.memory = memory
        self._lines: OrderedDict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = OrderedDict()
        self._cache_size = cache_size

    async def _star_lines(self, star_id: str, export_version: int | None) -> tuple[tuple[str, ...], ...]:
        if export_version is None:
            export_version = await self.memory.export_version(star_id)
        cached = self._lines.get(star_id)
        if cached is not None and cached[0] == export_version:
            self._lines.move_to_end(star_id)
            return cached[1], cached[2]
        texts = await self.memory.recent_star_texts(star_id, _TEXTS_READ)  # newest first
        frequent, varied = await asyncio.to_thread(_lines_of, texts)
        # Stored under the version read before the messages: an import in between makes the next turn's
        # version differ, and the lines are read again.
        self._lines[star_id] = (export_version, frequent, varied)
        self._lines.move_to_end(star_id)
        if len(self._lines) > self._cache_size:
            self._lines.popitem(last=False)
        return frequent, varied

    async def frequent_lines(self, star_id: str, *, export_version: int | None = None) -> tuple[str, ...]:
        """The star's most frequent short messages (fallback replies when nothing recalled fits)."""
        return (await self._star_lines(star_id, export_version))[0]

    async def style_examples(self, star_id: str, *, export_version: int | None = None) -> tuple[str, ...]:
        """Messages of the star chosen for variety (topics, lengths, endings): the LLM's style examples."""
        return (await self._star_lines(star_id, export_version))[1]

    def forget(self, star_id: str) -> None:
        """Drop cached lines of a deleted star."""
        self._lines.pop(star_id, None)

    async def reply(
        self,
        star_id: str,
        message: str | MemoryQuery,
        *,
        turn_index: int,
        recent: Sequence[str] = (),
        export_version: int | None = None,
        memories: Sequence[Recollection] | None = None,
        user_id: str | None = None,
    ) -> list[str]:
        """The star's bubbles for ``message``, taken from the imported conversation (``[]``: nothing fits).

        ``memories``: the memory search for ``message`` (``MEMORY_LIMIT`` moments) when the caller ran it.
        """
        query = message if isinstance(message, MemoryQuery) else await self.memory.prepare(message)
        if memories is None:
            memories = await self.memory.search(star_id, query, user_id=user_id, limit=MEMORY_LIMIT)
        fallback = await self.frequent_lines(star_id, export_version=export_version)
        if is_sad(query.text):
            fallback = tuple(line for line in fallback if not laughs(line))
        return compose_offline_reply(
            reply_candidates(memories, query),
            query.text,
            _seed(star_id, str(turn_index)),
            fallback_lines=fallback,
            recent=recent,
        )


def _lines_of(texts: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    stripped = [text.strip() for text in reversed(texts)]  # oldest first: ties go to the earlier line
    counts = Counter(text for text in stripped if 0 < len(text) <= 40)
    frequent = tuple(text for text, _ in counts.most_common(12))
    return frequent, varied_examples(stripped, count=8)
