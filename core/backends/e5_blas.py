"""numpy's BLAS threads, capped while an embedding runs and given back when the last one ends.

OpenBLAS keeps one process-wide thread count, and by default it is one per core: a small matmul then wakes
the other core's worker, which spins ~0.1 s after each call before it sleeps. On a busy 2-core machine a
query embedded on 2 BLAS threads measured 3-6x slower than on 1 (``bench/embed_speed.py``), and the spinning
worker takes a core from everything else. So an embedding call caps the count for its duration only; other
numpy work in the process keeps the setting it had (it runs capped only while an embedding is under way).
Concurrent embedding calls share the cap; the count is restored when the last of them leaves.

The library is found among the process's loaded shared objects (Linux ``/proc/self/maps``), with the symbol
names numpy's wheels (``scipy_openblas``) and distribution builds use. Elsewhere, or on another BLAS, the cap
does nothing and the calls run with the BLAS default.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

_SUFFIXES = ("64_", "_64", "")
_PREFIXES = ("scipy_openblas", "openblas")
_Control = tuple[Callable[[], int], Callable[[int], Any]]
"""(get, set) of one library's thread count."""


def _openblas_controls() -> list[_Control]:
    """(get, set) thread-count functions of each OpenBLAS loaded in this process (numpy's among them)."""
    np.ones((2, 2)) @ np.ones((2, 2))  # numpy loads its BLAS on import; this makes sure it is mapped
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = sorted({line.split(maxsplit=5)[-1] for line in maps.splitlines() if "openblas" in line.lower()})
    controls = []
    for path in paths:
        if not Path(path).is_file():
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            pair = _pair(lib, prefix)
            if pair is not None:
                controls.append(pair)
                break
    return controls


def _pair(lib: ctypes.CDLL, prefix: str) -> _Control | None:
    for suffix in _SUFFIXES:
        try:
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}")
            put = getattr(lib, f"{prefix}_set_num_threads{suffix}")
        except AttributeError:
            continue
        get.restype, get.argtypes = ctypes.c_int, []
        put.restype, put.argtypes = None, [ctypes.c_int]
        return get, put
    return None


class BlasThreads:
    """``with threads.cap(n):`` runs a block with at most ``n`` BLAS threads (0: no cap)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._controls: list[_Control] | None = None
        self._users = 0
        self._saved: list[int] = []
        self._cap = 0

    @property
    def controllable(self) -> bool:
        """Whether an OpenBLAS was found whose thread count this can set."""
        with self._lock:
            return bool(self._found())

    def _found(self) -> list[_Control]:
        if self._controls is None:
            self._controls = _openblas_controls()
        return self._controls

    @contextmanager
    def cap(self, threads: int) -> Iterator[None]:
        if threads <= 0:
            yield
            return
        with self._lock:
            controls = self._found()
            if self._users == 0:
                self._saved = [get() for get, _put in controls]
                self._cap = threads
            else:
                self._cap = min(self._cap, threads)  # side by side, the smallest cap asked holds
            for (_get, put), saved in zip(controls, self._saved, strict=True):
                put(min(saved, self._cap))
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    for (_get, put), saved in zip(controls, self._saved, strict=True):
                        put(saved)


BLAS_THREADS = BlasThreads()
"""The process's one cap (the count it guards is process-wide)."""
