"""The semantic safety heads over the Embedder's ``query`` vectors, one per decision (crisis, scam).

The heads are trained by ``python -m core.safety.train`` on ``data/messages.jsonl`` and shipped as
``data/heads.npz`` (the crisis head's training vectors as int8 rows with a scale each, the scam weights
as float16) with ``data/heads.json`` (the dev-calibrated thresholds, the embedder they
were trained on and the arrays' checksum). Crisis is a nearest-neighbour head, scam a logistic regression;
scoring costs well under a millisecond, so a check costs the one ``query`` call per message, which the
caller caches (``CachedQueries``) so memory search and safety share it.

Long messages: a crisis clause inside a long message about the day or about grief is diluted in the
whole message's vector, so messages of ``CLAUSE_MIN_WORDS`` words or more are also scored in overlapping
word windows (at most ``MAX_CLAUSES``) and the crisis score is the highest of them. Hangul typed as loose
jamo is recomposed first (``core.safety.text.repair_hangul``).

Conversation context: ``ConversationWindow`` keeps the last few vectors of each conversation and their crisis
scores (numbers only, never text, in memory). The window's mean is scored too, so risk spread over several
short messages counts; and a message that leans towards crisis (within ``lean`` of the threshold, such as a
short "그동안 고마웠어, 이제 안녕") counts when an earlier message of the window leaned that way as well, so a
farewell after hopeless words counts more than the same farewell alone.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from core.ports import Embedder, EngineRecipe, RebuildableEmbedder
from core.safety.text import repair_hangul

HEADS_PATH = Path(__file__).resolve().parent / "data" / "heads.json"
Vector = npt.NDArray[np.float32]
CLAUSE_MIN_WORDS = 12
CLAUSE_WORDS = 8
MAX_CLAUSES = 4


def clauses(text: str) -> list[str]:
    """Overlapping word windows of a long message (none for a short one), at most ``MAX_CLAUSES``."""
    words = text.split()
    if len(words) < CLAUSE_MIN_WORDS:
        return []
    # Windows of at least CLAUSE_WORDS words, evenly spaced, each overlapping the next by a few words.
    size = max(CLAUSE_WORDS, -(-len(words) // MAX_CLAUSES) + 3)
    count = min(MAX_CLAUSES, -(-(len(words) - size) // (size - 3)) + 1)
    starts = [round(i * (len(words) - size) / (count - 1)) for i in range(count)]
    return [" ".join(words[i : i + size]) for i in starts]


def crisis_texts(text: str) -> list[str]:
    """The texts the crisis head scores for one message: the repaired message, then its clauses."""
    whole = repair_hangul(text)
    return [whole, *clauses(whole)]


@dataclass(frozen=True, slots=True, kw_only=True)
class LogisticHead:
    """A logistic-regression head: ``sigmoid(w·x + b)``."""

    weights: Vector
    bias: float
    threshold: float

    def score(self, vector: Vector) -> float:
        """The head's probability for one L2-normalised vector."""
        z = float(np.dot(self.weights, vector)) + self.bias
        return float(1.0 / (1.0 + np.exp(-z)))


@dataclass(frozen=True, slots=True, kw_only=True)
class NeighbourHead:
    """A nearest-neighbour head over the positive and negative training vectors. It separates crisis talk
    from grief far better than a linear head on these vectors.

    With ``temperature`` 0: mean cosine to the ``k`` closest positives minus the same for negatives. With a
    temperature ``τ``: ``τ·log Σ exp(cos/τ)`` over the positives minus the same over the negatives (a soft
    nearest neighbour: the closest lines count most, and many close ones count more than one), which keeps
    more crisis lines at the same false-alarm rate on these vectors."""

    positives: Vector
    negatives: Vector
    k: int
    threshold: float
    temperature: float = 0.0

    def score(self, vector: Vector) -> float:
        """Positive-minus-negative neighbour similarity."""
        pos_sim, neg_sim = self.positives @ vector, self.negatives @ vector
        if self.temperature > 0:
            tau = self.temperature
            return tau * (_log_sum_exp(pos_sim / tau) - _log_sum_exp(neg_sim / tau))
        pos = np.partition(pos_sim, -self.k)[-self.k :]
        neg = np.partition(neg_sim, -self.k)[-self.k :]
        return float(pos.mean() - neg.mean())


def _log_sum_exp(values: Vector) -> float:
    top = float(values.max())
    return top + float(np.log(np.exp(values - top).sum()))


Head = LogisticHead | NeighbourHead


@dataclass(frozen=True, slots=True, kw_only=True)
class SafetyHeads:
    """The shipped heads and the embedder they expect; ``sure`` is the crisis score a model cannot veto."""

    embedder: str
    dim: int
    crisis: NeighbourHead
    scam: LogisticHead
    window_threshold: float
    sure: float
    window_slack: float = 0.03
    lean: float = 0.0


class HeadsError(ValueError):
    """The heads files are missing, altered or were trained for another embedder."""


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_heads(meta_path: Path = HEADS_PATH) -> SafetyHeads:
    """Read and verify the heads (``heads.json`` names and checksums the arrays in ``heads.npz``)."""
    arrays_path = meta_path.with_suffix(".npz")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("sha256") != file_sha256(arrays_path):
            raise HeadsError(f"safety heads {arrays_path} do not match their checksum")
        with np.load(arrays_path) as arrays:
            loaded = {name: np.asarray(arrays[name], dtype=np.float32) for name in arrays.files}
        for name in [n for n in loaded if f"{n}_scale" in loaded]:  # int8 rows times their scale
            loaded[name] = loaded[name] * loaded.pop(f"{name}_scale")[:, None]
    except (OSError, ValueError, KeyError) as exc:
        if isinstance(exc, HeadsError):
            raise
        raise HeadsError(f"cannot read safety heads {meta_path}: {exc}") from exc
    return SafetyHeads(
        embedder=str(meta["embedder"]),
        dim=int(meta["dim"]),
        crisis=NeighbourHead(
            positives=loaded["crisis_positives"],
            negatives=loaded["crisis_negatives"],
            k=int(meta["crisis"]["k"]),
            threshold=float(meta["crisis"]["threshold"]),
            temperature=float(meta["crisis"].get("temperature", 0.0)),
        ),
        scam=LogisticHead(
            weights=loaded["scam_weights"],
            bias=float(meta["scam"]["bias"]),
            threshold=float(meta["scam"]["threshold"]),
        ),
        window_threshold=float(meta["window_threshold"]),
        sure=float(meta["crisis"]["sure"]),
        window_slack=float(meta.get("window_slack", 0.03)),
        lean=float(meta.get("lean", 0.0)),
    )


@cache
def shipped_heads() -> SafetyHeads:
    """The heads that ship in the package (read once)."""
    return load_heads()


class CachedQueries:
    """An ``Embedder`` that remembers its last ``size`` query vectors, so one turn embeds its message once."""

    def __init__(self, inner: Embedder, size: int = 256) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def query(self, text: str) -> Vector:
        """The cached vector of ``text`` (embedded on first use)."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = np.asarray(self.inner.query(text), dtype=np.float32)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return vector

    def passages(self, texts: Sequence[str]) -> Vector:
        """Passages are not cached (imports embed each once)."""
        return self.inner.passages(texts)

    def recipe(self, *, batch_threads: int = 0) -> EngineRecipe | None:
        """The inner embedder's, where a child process can build it (``RebuildableEmbedder``)."""
        if not isinstance(self.inner, RebuildableEmbedder):
            return None
        return self.inner.recipe(batch_threads=batch_threads)


class ConversationWindow:
    """The last ``turns`` user-message vectors and crisis scores per conversation, for ``conversations``
    conversations."""

    def __init__(self, turns: int = 3, conversations: int = 4096) -> None:
        self.turns = turns
        self._recent: OrderedDict[str, deque[tuple[Vector, float]]] = OrderedDict()
        self._size = conversations
        self._lock = threading.Lock()

    def push(self, key: str, vector: Vector, score: float = -2.0) -> tuple[Vector, float]:
        """Add ``vector`` (with its message's crisis ``score``) to ``key``'s window; return the window's
        normalised mean and the highest score of the earlier messages in it (-2 when there are none)."""
        with self._lock:
            window = self._recent.get(key)
            if window is None:
                window = self._recent[key] = deque(maxlen=self.turns)
            self._recent.move_to_end(key)
            before = max((s for _, s in window), default=-2.0)
            window.append((vector, score))
            if len(self._recent) > self._size:
                self._recent.popitem(last=False)
            mean: Vector = np.mean(np.stack([v for v, _ in window]), axis=0).astype(np.float32)
        norm = float(np.linalg.norm(mean))
        return (mean / np.float32(norm) if norm else mean), before

    def clear(self, key: str) -> None:
        """Forget ``key``'s window (after a hand-off, a new window starts)."""
        with self._lock:
            self._recent.pop(key, None)


@dataclass(frozen=True, slots=True, kw_only=True)
class SemanticScores:
    """Head probabilities of one message, and of its conversation window for crisis."""

    crisis: float
    scam: float
    crisis_window: float = -2.0
    crisis_before: float = -2.0


class SemanticSafety:
    """Scores texts with the shipped heads over an ``Embedder``'s query vectors (blocking: use a thread)."""

    def __init__(
        self,
        embedder: Embedder,
        heads: SafetyHeads | None = None,
        *,
        window: ConversationWindow | None = None,
    ) -> None:
        self.heads = heads or shipped_heads()
        if embedder.dim != self.heads.dim or embedder.name != self.heads.embedder:
            raise HeadsError(
                f"safety heads were trained on {self.heads.embedder}, not {embedder.name}; "
                "rebuild them with python -m core.safety.train"
            )
        self.embedder = embedder if isinstance(embedder, CachedQueries) else CachedQueries(embedder)
        self.window = window or ConversationWindow()

    def scores(self, text: str, conversation: str | None = None) -> SemanticScores:
        """Both heads on ``text``; with ``conversation``, the crisis head on the recent window as well."""
        whole, *parts = crisis_texts(text)
        vector = self.embedder.query(whole)
        crisis = self.heads.crisis.score(vector)
        for part in parts:
            crisis = max(crisis, self.heads.crisis.score(self.embedder.query(part)))
        scam = self.heads.scam.score(vector)
        windowed = before = -2.0
        if conversation is not None:
            mean, before = self.window.push(conversation, vector, crisis)
            windowed = self.heads.crisis.score(mean)
        return SemanticScores(crisis=crisis, scam=scam, crisis_window=windowed, crisis_before=before)

    def crisis_hit(self, scores: SemanticScores) -> bool:
        """Whether the message alone, or its window with some signal in the message, reads as a crisis."""
        threshold = self.heads.crisis.threshold
        if scores.crisis >= threshold:
            return True
        # The window counts only when this message leans that way too: "I'm safe now" after a crisis
        # message must not stay flagged by its neighbour.
        near = scores.crisis >= threshold - self.heads.window_slack
        if near and scores.crisis_window >= self.heads.window_threshold:
            return True
        # Two leaning messages in one window (a farewell after hopeless words) count as one crisis.
        lean = threshold - self.heads.lean
        return self.heads.lean > 0 and scores.crisis >= lean and scores.crisis_before >= lean

    def crisis_sure(self, scores: SemanticScores) -> bool:
        """Whether the crisis head is sure enough that a model's "safe" does not overrule it."""
        return scores.crisis >= self.heads.sure

    def scam_hit(self, scores: SemanticScores) -> bool:
        """Whether the message reads as a scam or credential request."""
        return scores.scam >= self.heads.scam.threshold
