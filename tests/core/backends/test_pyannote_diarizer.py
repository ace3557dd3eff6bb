"""pyannote at its seam: the missing-extra error, and the conversion of its output with a fake pipeline."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import core.backends.pyannote_diarizer as pd
from core.extras import install_hint
from core.ports import Diarizer, EngineUnavailable
from tests.support.extras import need


@dataclass
class Segment:
    start: float
    end: float


class FakeAnnotation:
    """The part of ``pyannote.core.Annotation`` the backend uses."""

    def __init__(self, rows: list[tuple[float, float, str]]) -> None:
        self.rows = rows

    def itertracks(self, yield_label: bool = False) -> Any:
        for i, (s, e, label) in enumerate(self.rows):
            yield Segment(s, e), f"t{i}", label

    def labels(self) -> list[str]:
        return sorted({r[2] for r in self.rows})


@dataclass
class FakeOutput:
    """pyannote 4's ``DiarizeOutput``."""

    speaker_diarization: FakeAnnotation
    speaker_embeddings: np.ndarray


class FakePipeline:
    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def __call__(self, file: dict[str, Any], **kwargs: Any) -> FakeOutput:
        self.calls.append((file, kwargs))
        ann = FakeAnnotation([(3.0, 5.5, "SPEAKER_01"), (0.5, 2.9, "SPEAKER_00"), (6.0, 7.0, "SPEAKER_01")])
        return FakeOutput(ann, np.array([[3.0, 4.0], [1.0, 0.0]]))


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyannote", None)
    monkeypatch.setitem(sys.modules, "pyannote.audio", None)
    with pytest.raises(EngineUnavailable) as info:
        pd._load_pipeline("/models/community-1", None, "cpu")
    assert info.value.extra == "pyannote"
    assert install_hint("pyannote") in str(info.value)


async def test_diarize_converts_pipeline_output(monkeypatch: pytest.MonkeyPatch) -> None:
    need("torch")
    fake = FakePipeline()
    loads: list[tuple[Any, ...]] = []
    monkeypatch.setattr(pd, "_load_pipeline", lambda *args: loads.append(args) or fake)
    diarizer = pd.PyannoteDiarizer(pd.PyannoteOptions(model="/models/community-1"))
    assert isinstance(diarizer, Diarizer)
    audio = np.zeros(16000 * 8, dtype=np.float32)
    result = await diarizer.diarize(audio, num_speakers=2)
    await diarizer.diarize(audio)
    assert len(loads) == 1, "the pipeline loads once"
    assert [(t.start, t.end, t.speaker) for t in result.turns] == [
        (0.5, 2.9, "S1"),
        (3.0, 5.5, "S2"),
        (6.0, 7.0, "S2"),
    ]
    assert result.engine == "pyannote"
    assert result.embeddings["S1"] == pytest.approx((0.6, 0.8))
    file, kwargs = fake.calls[0]
    assert file["sample_rate"] == 16000
    assert tuple(file["waveform"].shape) == (1, 16000 * 8)
    assert kwargs == {"num_speakers": 2}
    assert fake.calls[1][1] == {}
    diarizer.close()
    await diarizer.diarize(audio)
    assert len(loads) == 2


def test_plain_annotation_converts_too() -> None:
    result = pd.annotation_to_diarization(FakeAnnotation([(1.0, 2.0, "A"), (0.0, 1.0, "B"), (2.0, 2.0, "A")]))
    assert [(t.speaker, t.start) for t in result.turns] == [("S1", 0.0), ("S2", 1.0)]
    assert result.embeddings == {}
