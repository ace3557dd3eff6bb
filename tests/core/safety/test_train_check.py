"""``python -m core.safety.train --check`` passes a rebuild that differs only by the CPU's arithmetic and
fails one built from other messages or with a moved threshold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from core.safety.semantic import HEADS_PATH
from core.safety.train import same_heads, write_heads


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path.with_suffix(".npz")) as data:
        return {name: data[name].copy() for name in data.files}


def _meta(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    meta.pop("sha256")
    return meta


def _rebuilt(tmp_path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    out = tmp_path / "rebuilt" / "heads.json"
    out.parent.mkdir(exist_ok=True)
    write_heads(meta, arrays, out)
    return out


def test_the_shipped_heads_match_themselves_byte_for_byte(tmp_path: Path) -> None:
    shutil.copy(HEADS_PATH, tmp_path / "heads.json")
    shutil.copy(HEADS_PATH.with_suffix(".npz"), tmp_path / "heads.npz")
    assert same_heads(HEADS_PATH, tmp_path / "heads.json") == "heads match"


def test_another_cpus_rounding_passes(tmp_path: Path) -> None:
    arrays, meta = _arrays(HEADS_PATH), _meta(HEADS_PATH)
    rng = np.random.default_rng(7)
    for name in ("crisis_positives", "crisis_negatives"):  # one quantization step here and there
        step = rng.integers(-1, 2, arrays[name].shape, dtype=np.int8)
        arrays[name] = np.clip(arrays[name].astype(np.int16) + step, -127, 127).astype(np.int8)
    crisis = dict(meta["crisis"])
    crisis["threshold"] = round(crisis["threshold"] - 0.0002, 4)
    meta["crisis"] = crisis
    verdict = same_heads(HEADS_PATH, _rebuilt(tmp_path, arrays, meta))
    assert verdict is not None and "not byte for byte" in verdict


def test_other_messages_or_a_moved_threshold_fail(tmp_path: Path) -> None:
    arrays, meta = _arrays(HEADS_PATH), _meta(HEADS_PATH)
    fewer = dict(arrays, crisis_positives=arrays["crisis_positives"][:-1])
    fewer["crisis_positives_scale"] = arrays["crisis_positives_scale"][:-1]
    assert same_heads(HEADS_PATH, _rebuilt(tmp_path, fewer, meta)) is None

    swapped = dict(arrays, crisis_negatives=arrays["crisis_negatives"][::-1].copy())
    swapped["crisis_negatives_scale"] = arrays["crisis_negatives_scale"][::-1].copy()
    assert same_heads(HEADS_PATH, _rebuilt(tmp_path, swapped, meta)) is None

    moved = dict(meta, scam=dict(meta["scam"], threshold=0.5))
    assert same_heads(HEADS_PATH, _rebuilt(tmp_path, arrays, moved)) is None
    other = dict(meta, trained_on=int(meta["trained_on"]) + 1)
    assert same_heads(HEADS_PATH, _rebuilt(tmp_path, arrays, other)) is None
