"""Search queries for the star's memory, rewritten from the user's message by the chat model.

A question asks about a memory in its own words ("우리 강아지 수술한 날 기억나?"); the moment holds others
(중성화, 마취). With a chat model configured, the model names what the memory would contain, and the
memory search runs the message and each rewritten query, fusing their rankings. Optional and bounded: one
short completion under a deadline; any failure (timeout, error, empty answer) leaves the message alone.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence

from core.ports import ChatModel, ChatModelError
from core.prompt_library import render_messages
from core.safety.injection import quote_as_data
from core.storage.memory import MemoryQuery, MemoryStore, Recollection

log = logging.getLogger(__name__)

MOST_QUERIES = 3
MAX_QUERY_CHARS = 80
_RRF_K = 60
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)]|query\s*\d*\s*[:：])\s*", re.I)


def parse_queries(answer: str, message: str, *, most: int = MOST_QUERIES) -> list[str]:
    """The model's queries, one per line: bullets and quotes stripped, duplicates and the message dropped."""
    queries: list[str] = []
    seen = {message.strip()}
    for line in answer.splitlines():
        query = _BULLET.sub("", line).strip().strip("\"'“”‘’`").strip()[:MAX_QUERY_CHARS]
        if query and query not in seen:
            seen.add(query)
            queries.append(query)
        if len(queries) >= most:
            break
    return queries


class MemoryQueryRewriter:
    """Asks the chat model for memory search queries (at most ``most``) under ``timeout_s``."""

    def __init__(self, model: ChatModel, *, timeout_s: float = 4.0, most: int = MOST_QUERIES) -> None:
        self.model = model
        self.timeout_s = timeout_s
        self.most = most

    async def queries(self, message: str) -> list[str]:
        """Search queries for ``message`` besides itself ([] when the model fails or finds none)."""
        if not message.strip():
            return []
        prompt = render_messages(
            "memory_queries.j2", data=quote_as_data(message[:1000], "user message"), most=self.most
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                completion = await self.model.complete(prompt, max_tokens=96, temperature=0.0)
        except (ChatModelError, TimeoutError):
            log.warning("memory query rewriting failed; the message is searched as it is", exc_info=True)
            return []
        return parse_queries(completion.text, message, most=self.most)


async def search_rewritten(
    memory: MemoryStore,
    star_id: str,
    query: MemoryQuery,
    rewritten: Sequence[str],
    *,
    user_id: str,
    limit: int,
) -> list[Recollection]:
    """The memories of ``query`` and of each rewritten query, fused by reciprocal rank, best first.

    The message's own ranking counts as much as all rewritten ones together: a model that misreads the
    message can add memories, never bury the ones its words find.
    """
    rankings = [await memory.search(star_id, query, user_id=user_id, limit=limit)]
    for text in rewritten:
        rankings.append(await memory.search(star_id, text, user_id=user_id, limit=limit))
    weights = [1.0] + [1.0 / max(1, len(rewritten))] * len(rewritten)
    scores: dict[int, float] = {}
    best: dict[int, Recollection] = {}
    for weight, ranking in zip(weights, rankings, strict=True):
        for rank, found in enumerate(ranking):
            scores[found.moment_id] = scores.get(found.moment_id, 0.0) + weight / (_RRF_K + rank + 1)
            best.setdefault(found.moment_id, found)
    order = sorted(scores, key=lambda i: (-scores[i], -i))[:limit]
    return [best[i] for i in order]
