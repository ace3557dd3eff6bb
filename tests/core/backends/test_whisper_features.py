"""BlockFeatureExtractor: the same Whisper features as faster-whisper's own extractor, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.extras import need

need("faster_whisper")

from faster_whisper.feature_extractor import FeatureExtractor

from core.backends.whisper_features import BLOCK_FRAMES, BlockFeatureExtractor, block_features

HOP = 160


def _speechlike(n: int, seed: int) -> np.ndarray:
    """Noise with a quiet stretch and a loud one, so the normalisation's clamp matters."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 0.1).astype(np.float32)
    x[: n // 3] *= 1e-4
    x[n // 2 : n // 2 + 4000] *= 8
    return x


@pytest.mark.parametrize("n_mels", [80, 128])
@pytest.mark.parametrize(
    "samples",
    [
        1000,  # shorter than a frame window
        BLOCK_FRAMES * HOP - HOP,  # the longest input that takes the original path
        BLOCK_FRAMES * HOP - HOP + 1,
        BLOCK_FRAMES * HOP,  # one frame more than a block: a one-frame last block
        2 * BLOCK_FRAMES * HOP + 37,
        3 * BLOCK_FRAMES * HOP + 159,
    ],
)
def test_features_equal_the_originals(n_mels: int, samples: int) -> None:
    original = FeatureExtractor(feature_size=n_mels)
    blocks = block_features(FeatureExtractor(feature_size=n_mels))
    x = _speechlike(samples, seed=samples)
    expected = original(x, chunk_length=30)
    got = blocks(x, chunk_length=30)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert blocks.nb_max_frames == original.nb_max_frames


def test_padding_and_float64_input_match_too() -> None:
    x = _speechlike(2 * BLOCK_FRAMES * HOP + 5, seed=3).astype(np.float64)
    original, blocks = FeatureExtractor(), block_features(FeatureExtractor())
    assert np.array_equal(blocks(x, padding=0), original(x, padding=0))
    assert np.array_equal(blocks(x), original(x))


def test_block_features_keeps_the_settings_and_leaves_unknown_extractors_alone() -> None:
    stock = FeatureExtractor(feature_size=128, chunk_length=20)
    blocks = block_features(stock)
    assert isinstance(blocks, BlockFeatureExtractor)
    assert blocks.mel_filters.shape == (128, 201)
    assert (blocks.n_samples, blocks.nb_max_frames) == (stock.n_samples, stock.nb_max_frames)

    class Custom(FeatureExtractor):  # type: ignore[misc]
        pass

    custom = Custom()
    assert block_features(custom) is custom
    other = object()
    assert block_features(other) is other
