"""The who-spoke-when picture: matplotlib when present, Pillow otherwise."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from PIL import Image

from core import chart_fonts
from core.domain.audio import SpeakerTurn
from core.voice.timeline import PALETTE, render_timeline_png
from tests.support.charts import record_drawn_text
from tests.support.extras import need

TURNS = [
    SpeakerTurn(start=s, end=e, speaker=sp) for s, e, sp in [(0, 2, "S1"), (2.5, 4, "S2"), (4.2, 7, "S1")]
]


def has_colour(path: Path, hex_colour: str) -> bool:
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    return any(colour == rgb for _, colour in colours)


def test_matplotlib_timeline(tmp_path: Path) -> None:
    need("matplotlib")
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


def test_korean_labels_with_a_hangul_font(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need("matplotlib")
    if chart_fonts.hangul_font() is None:
        pytest.skip(f"no Hangul font installed (apt-get install {chart_fonts.FONT_PACKAGE})")
    drawn = record_drawn_text(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Glyph ... missing" warning
        path = render_timeline_png(
            TURNS, 8.0, tmp_path / "t.png", {"S1": "화자 1", "S2": "화자 2"}, axis_label="시간 (초)"
        )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"화자 1", "화자 2", "시간 (초)"} <= set(drawn.texts)


def test_ascii_labels_without_a_hangul_font(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need("matplotlib")
    monkeypatch.setattr(chart_fonts, "hangul_font", lambda explicit=None: None)
    drawn = record_drawn_text(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # S1 speaks first but is the caller's speaker 2: its label says so.
        render_timeline_png(
            TURNS, 8.0, tmp_path / "t.png", {"S2": "화자 1", "S1": "화자 2"}, title="누가", axis_label="시간"
        )
    assert {"#2", "#1", "s"} <= set(drawn.texts)
    assert all(text.isascii() for text in drawn.texts)
