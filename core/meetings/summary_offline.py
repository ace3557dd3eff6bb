"""Meeting summaries: the summary types, an offline summarizer (no LLM) and an LLM summarizer.

Offline: the most central sentences (TextRank over character n-gram TF-IDF similarity, so Korean works
without a morpheme analyser) form the abstract; decisions, action items (owner, due date when said) and open
questions are found by Korean and English patterns. Every item cites the start times it came from.

LLM: the transcript is cut into chunks by tokens, each chunk is summarized with
``prompts/meeting_summary_chunk.j2``, and the notes are combined with ``prompts/meeting_summary_combine.j2``.
Malformed model output or a failing model falls back to the offline summary.
"""

from __future__ import annotations

import json
import logging
import math
import re
import zlib
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np

from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.meetings.notes import Sentence, extract_items, split_sentences
from core.meetings.summary_model import OFFLINE_ENGINE, ActionItem, MeetingSummary, SummaryPoint
from core.ports import ChatModel, ChatModelError, PromptMessage
from core.prompt_library import render_messages
from core.safety.injection import inline_data

log = logging.getLogger(__name__)


# --- centrality -----------------------------------------------------------------------------------

_HASH_DIM = 4096


def _ngrams(text: str) -> list[str]:
    clean = re.sub(r"[^\w]+", " ", text.casefold()).strip()
    grams: list[str] = []
    for word in clean.split():
        padded = f" {word} "
        for n in (2, 3):
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def centrality(texts: Sequence[str], damping: float = 0.85, iterations: int = 50) -> np.ndarray:
    """TextRank scores of sentences over cosine similarity of hashed character n-gram TF-IDF vectors."""
    n = len(texts)
    if n == 0:
        return np.zeros(0)
    counts = np.zeros((n, _HASH_DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for gram in _ngrams(text):
            counts[i, zlib.crc32(gram.encode()) % _HASH_DIM] += 1.0
    df = (counts > 0).sum(axis=0)
    idf = np.log((1 + n) / (1 + df)) + 1.0
    vectors = counts * idf
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    sim = vectors @ vectors.T
    np.fill_diagonal(sim, 0.0)
    row = sim.sum(axis=1, keepdims=True)
    transition = np.where(row > 0, sim / np.where(row == 0, 1.0, row), 1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        scores = (1 - damping) / n + damping * (transition.T @ scores)
    return scores


def summarize_offline(
    segments: Sequence[TranscriptSegment],
    max_sentences: int = 5,
    *,
    meeting_date: date | None = None,
    language: str = "",
) -> MeetingSummary:
    """A summary with no LLM: central sentences as the abstract, items by speaker (see ``notes``)."""
    sentences = split_sentences(segments)
    candidates = [s for s in sentences if len(s.text) >= 8]
    scores = centrality([s.text for s in candidates])
    k = min(max_sentences, max(1, math.ceil(len(candidates) * 0.15))) if candidates else 0
    top = sorted(np.argsort(-scores, kind="stable")[:k].tolist())
    chosen = [candidates[i] for i in top]
    decisions, actions, questions = extract_items(sentences, meeting_date=meeting_date)
    return MeetingSummary(
        abstract=" ".join(s.text for s in chosen),
        abstract_at=tuple(s.start for s in chosen),
        decisions=decisions,
        action_items=actions,
        open_questions=questions,
        engine=OFFLINE_ENGINE,
        language=language,
    )


# --- LLM summary ----------------------------------------------------------------------------------


def render_prompt(name: str, **variables: Any) -> list[PromptMessage]:
    """Render ``prompts/<name>``: its ``{% set system %}`` block, then its body as the user turn."""
    return render_messages(name, **variables)


def _fence_safe(text: str) -> str:
    # Transcript text and speaker names (Discord display names) are data: one line each, with no angle
    # bracket left, so nothing can close the <transcript>/<notes> tag it sits in (``inline_data``).
    return inline_data(text, limit=1_000_000)


def transcript_lines(segments: Sequence[TranscriptSegment], unknown: str = "?") -> list[str]:
    """One line per segment, ``[t=12.3] Speaker: text``, as the prompts expect."""
    return [
        f"[t={s.start:.1f}] {inline_data(s.speaker or unknown, limit=64)}: {_fence_safe(s.text.strip())}"
        for s in segments
        if s.text.strip()
    ]


def chunk_lines(lines: Sequence[str], count_tokens: Any, chunk_tokens: int) -> list[list[str]]:
    """Group lines into chunks of at most ``chunk_tokens`` tokens (a longer single line is its own chunk)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for line in lines:
        cost = int(count_tokens(line)) + 1
        if current and used + cost > chunk_tokens:
            chunks.append(current)
            current, used = [], 0
        current.append(line)
        used += cost
    if current:
        chunks.append(current)
    return chunks


def parse_summary_json(text: str, engine: str) -> MeetingSummary:
    """Parse a model's JSON answer, tolerating code fences and prose around it; ``ValueError`` if unusable."""
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in the model output")
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as exc:
        end = text.rfind("}")
        try:
            data = json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            raise ValueError(f"malformed JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("the JSON is not an object")
    data["engine"] = engine
    return MeetingSummary.from_dict(data)


async def _ask(
    chat_model: ChatModel, messages: list[PromptMessage], max_tokens: int, timeout_s: float
) -> str:
    import asyncio

    async with asyncio.timeout(timeout_s):
        completion = await chat_model.complete(messages, max_tokens=max_tokens, temperature=0.2)
    return completion.text


async def summarize_with_llm(
    chat_model: ChatModel,
    segments: Sequence[TranscriptSegment],
    locale: Locale | str,
    chunk_tokens: int = 3000,
    *,
    max_tokens: int = 1024,
    timeout_s: float = 180.0,
) -> MeetingSummary:
    """Summarize with a chat model in chunks, then combine; falls back to :func:`summarize_offline`."""
    loc = Locale(locale)
    engine = f"llm:{chat_model.name}"
    lines = transcript_lines(segments)
    if not lines:
        return summarize_offline(segments)
    chunks = chunk_lines(lines, chat_model.count_tokens, chunk_tokens)
    try:
        notes: list[MeetingSummary] = []
        for index, chunk in enumerate(chunks, 1):
            messages = render_prompt(
                "meeting_summary_chunk.j2", locale=loc.value, lines=chunk, part=index, parts=len(chunks)
            )
            notes.append(parse_summary_json(await _ask(chat_model, messages, max_tokens, timeout_s), engine))
        if len(notes) == 1:
            return notes[0]
        messages = render_prompt(
            "meeting_summary_combine.j2",
            locale=loc.value,
            notes=[_fence_safe(n.to_json()) for n in notes],
        )
        return parse_summary_json(await _ask(chat_model, messages, max_tokens, timeout_s), engine)
    except (ValueError, ChatModelError, TimeoutError) as exc:
        log.warning("LLM summary failed (%s); using the offline summary", exc)
        return summarize_offline(segments)


__all__ = [
    "OFFLINE_ENGINE",
    "ActionItem",
    "MeetingSummary",
    "Sentence",
    "SummaryPoint",
    "centrality",
    "split_sentences",
    "summarize_offline",
    "summarize_with_llm",
]
