"""The offline diarizer: clustering and turns on known vectors, the missing-extra error, the encoder."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from core.extras import install_hint
from core.ports import Diarizer, EngineUnavailable, SpeakerEncoder
from tests.support.extras import need

need("scipy")
from core.backends.resemblyzer_diarizer import (
    ResemblyzerDiarizer,
    cluster_embeddings,
    windows_to_turns,
)


def voices(centres: list[np.ndarray], per: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for i, c in enumerate(centres):
        x = c + noise * rng.standard_normal((per, c.size))
        rows.append(x / np.linalg.norm(x, axis=1, keepdims=True))
        truth += [i] * per
    return np.concatenate(rows).astype(np.float32), np.array(truth)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return len({(x, y) for x, y in zip(a, b, strict=True)}) == len(set(a)) == len(set(b))


def test_backends_satisfy_the_ports() -> None:
    d = ResemblyzerDiarizer()
    assert isinstance(d, Diarizer)
    assert isinstance(d.encoder, SpeakerEncoder)


def test_count_is_estimated_from_well_separated_voices() -> None:
    rng = np.random.default_rng(1)
    centres = [rng.standard_normal(64) for _ in range(3)]
    embeds, truth = voices(centres, 20, noise=0.08)
    labels = cluster_embeddings(embeds, num_speakers=None)
    assert same_partition(labels, truth)


def test_one_voice_stays_one_cluster() -> None:
    embeds, _ = voices([np.ones(64)], 40, noise=0.05)
    assert set(cluster_embeddings(embeds, num_speakers=None)) == {0}


def test_requested_count_wins() -> None:
    rng = np.random.default_rng(2)
    embeds, _ = voices([rng.standard_normal(64) for _ in range(3)], 10, noise=0.08)
    assert len(set(cluster_embeddings(embeds, num_speakers=2))) == 2
    assert len(set(cluster_embeddings(embeds, num_speakers=3))) == 3


def test_long_recordings_cluster_a_sample_and_assign_the_rest() -> None:
    rng = np.random.default_rng(3)
    embeds, truth = voices([rng.standard_normal(32) for _ in range(2)], 1000, noise=0.1)
    labels = cluster_embeddings(embeds, num_speakers=None)
    assert same_partition(labels, truth)


def test_windows_become_turns_with_flips_smoothed() -> None:
    sr = 16000
    regions = [(0, 5 * sr), (6 * sr, 8 * sr)]
    centres = np.array([0.8, 1.2, 1.6, 2.0, 2.4, 3.2, 4.0, 6.8, 7.2]) * sr
    labels = np.array([4, 4, 7, 4, 4, 7, 7, 7, 7])
    turns, order = windows_to_turns(regions, centres, labels, min_turn_s=0.4)
    assert order == {4: "S1", 7: "S2"}
    assert turns == [(0.0, 2.8, "S1"), (2.8, 5.0, "S2"), (6.0, 8.0, "S2")]


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "resemblyzer", None)
    encoder = ResemblyzerDiarizer().encoder
    with pytest.raises(EngineUnavailable) as info:
        encoder.embed(np.zeros(16000, dtype=np.float32))
    assert info.value.extra == "voice"
    assert install_hint("voice") in str(info.value)


@pytest.mark.ml
def test_encoder_loads_once_and_closes() -> None:
    need("torch")
    need("resemblyzer")
    rng = np.random.default_rng(4)
    diarizer = ResemblyzerDiarizer()
    audio = (0.1 * rng.standard_normal(32000)).astype(np.float32)
    first = diarizer.encoder.embed(audio)
    model = diarizer._model._encoder
    second = diarizer.encoder.embed(audio, sample_rate=16000)
    assert diarizer._model._encoder is model
    assert first.shape == (256,)
    assert float(np.linalg.norm(first)) == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(first, second, atol=1e-5)
    resampled = diarizer.encoder.embed(np.repeat(audio, 3), sample_rate=48000)
    assert resampled.shape == (256,)
    diarizer.close()
    assert diarizer._model._encoder is None
