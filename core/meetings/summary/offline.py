"""The offline meeting summary (no LLM): central sentences as the abstract, items found by patterns.

The most central sentences (TextRank over character n-gram TF-IDF similarity, so Korean works without a
morpheme analyser) form the abstract; decisions, action items (owner, due date when said) and open
questions are found by Korean and English patterns (``core.meetings.notes``). Every item cites the start
times it came from.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from datetime import date

import numpy as np

from core.domain.audio import TranscriptSegment
from core.meetings.notes import extract_items, split_sentences
from core.meetings.summary.model import OFFLINE_ENGINE, MeetingSummary

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
