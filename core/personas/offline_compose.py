"""Compose a reply for the offline engine from the star's own words only.

Given the star's real replies to past user messages that resemble the new one, pick one deterministically
(same star, same message, same seed: same answer), favouring the most similar. When nothing is similar
enough, fall back to one of the star's own frequent short messages. Nothing here writes new text: every
bubble returned is something the star actually sent.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

_PLACEHOLDER = re.compile(
    r"^(?:사진(?: \d+장)?|이모티콘|동영상|음성메시지|파일: .*|삭제된 메시지입니다\.?|"
    r"Photo|Photos|Emoticon|Video|This message has been deleted\.?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyCandidate:
    """A past user message similar to the new one, and the star's bubbles that answered it."""

    past_user_text: str
    star_reply: tuple[str, ...]
    similarity: float


Candidate = ReplyCandidate | tuple[str, Sequence[str], float]


def _normalize(candidate: Candidate) -> ReplyCandidate:
    if isinstance(candidate, ReplyCandidate):
        return candidate
    past, reply, similarity = candidate
    return ReplyCandidate(past_user_text=past, star_reply=tuple(reply), similarity=float(similarity))


def is_placeholder(text: str) -> bool:
    """Whether ``text`` is an export's stand-in for a photo, emoticon, file or deleted message."""
    return bool(_PLACEHOLDER.match(text.strip()))


def _usable(bubbles: Sequence[str]) -> tuple[str, ...]:
    return tuple(b.strip() for b in bubbles if b.strip() and not _PLACEHOLDER.match(b.strip()))


def _rng(seed: int, user_message: str) -> random.Random:
    key = f"{seed}\x00{' '.join(user_message.split()).casefold()}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def compose_offline_reply(
    candidates: Sequence[Candidate],
    user_message: str,
    seed: int,
    *,
    fallback_lines: Sequence[str] = (),
    recent: Sequence[str] = (),
    min_similarity: float = 0.2,
    top_k: int = 3,
    margin: float = 0.85,
    max_bubbles: int = 4,
) -> list[str]:
    """The star's bubbles to send, chosen among real replies; ``[]`` when there is nothing to say.

    ``candidates`` carry a similarity in [0, 1]; those below ``min_similarity`` are ignored, and among the
    rest the ``top_k`` within ``margin`` of the best are drawn with weight ``similarity``. ``recent`` are
    bubbles the star just sent: a reply repeating them is avoided when another will do. ``fallback_lines``
    are the star's frequent short messages, used when no candidate is similar enough.
    """
    rng = _rng(seed, user_message)
    recent_set = {r.strip() for r in recent}
    pool = []
    for raw in candidates:
        candidate = _normalize(raw)
        bubbles = _usable(candidate.star_reply)
        if candidate.similarity >= min_similarity and bubbles:
            pool.append((candidate.similarity, bubbles))
    if pool:
        pool.sort(key=lambda item: (-item[0], item[1]))  # ties broken by text: input order must not matter
        best = pool[0][0]
        top = [item for item in pool if item[0] >= best * margin][:top_k]
        fresh = [item for item in top if not recent_set.intersection(item[1])] or top
        weights = [max(similarity, 1e-6) for similarity, _ in fresh]
        _, chosen = rng.choices(fresh, weights=weights, k=1)[0]
        return list(chosen[:max_bubbles])
    lines = sorted(
        {line.strip() for line in fallback_lines if line.strip() and not _PLACEHOLDER.match(line.strip())}
    )
    fresh_lines = [line for line in lines if line not in recent_set] or lines
    return [rng.choice(fresh_lines)] if fresh_lines else []
