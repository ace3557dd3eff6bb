"""The who-spoke-when picture: matplotlib when present, Pillow otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image

from core.domain.audio import SpeakerTurn
from core.voice.timeline import PALETTE, render_timeline_png

TURNS = [
    SpeakerTurn(start=s, end=e, speaker=sp) for s, e, sp in [(0, 2, "S1"), (2.5, 4, "S2"), (4.2, 7, "S1")]
]


def has_colour(path: Path, hex_colour: str) -> bool:
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    return any(colour == rgb for _, colour in colours)


def test_matplotlib_timeline(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = render_timeline_png(
        TURNS, 8.0, tmp_path / "t.png", {"S1": "Speaker 1"}, title="Who", axis_label="s"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert has_colour(path, PALETTE[0])
    assert has_colour(path, PALETTE[1])


def test_pillow_fallback_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    path = render_timeline_png(TURNS, 8.0, tmp_path / "t.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.height >= 2 * 36
    assert has_colour(path, PALETTE[0])
    assert has_colour(path, PALETTE[1])
    assert not has_colour(path, PALETTE[2])
