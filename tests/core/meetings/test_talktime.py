"""Talk time per speaker and its PNG chart, with Korean names when a Hangul font is installed."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
from PIL import Image

from core import chart_fonts
from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.meetings.talktime import talk_time, talk_time_chart
from tests.support.charts import record_drawn_text
from tests.support.extras import need

SEGMENTS = [
    TranscriptSegment(start=0, end=60, text="a", speaker="민수"),
    TranscriptSegment(start=30, end=90, text="overlap with myself", speaker="민수"),
    TranscriptSegment(start=90, end=120, text="b", speaker="Alex"),
    TranscriptSegment(start=120, end=121, text="  ", speaker="Alex"),
    TranscriptSegment(start=121, end=151, text="c", speaker=None),
]


def test_talk_time_merges_a_speakers_overlaps() -> None:
    stats = talk_time(SEGMENTS)
    assert [(s.speaker, s.seconds, s.segments) for s in stats] == [
        ("민수", 90.0, 2),
        ("?", 30.0, 1),
        ("Alex", 30.0, 1),
    ]
    assert sum(s.share for s in stats) == pytest.approx(1.0)
    assert stats[0].share == pytest.approx(0.6)


@pytest.mark.parametrize("prefer_matplotlib", [True, False])
def test_chart_is_a_png(prefer_matplotlib: bool) -> None:
    if prefer_matplotlib:
        need("matplotlib")
    png = talk_time_chart(talk_time(SEGMENTS), Locale.KO, prefer_matplotlib=prefer_matplotlib)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width >= 300
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or ()) > 2  # bars and text were drawn


def test_chart_of_nothing_still_renders() -> None:
    assert talk_time_chart(()).startswith(b"\x89PNG")


@pytest.fixture
def korean_font() -> Path:
    font = chart_fonts.hangul_font()
    if font is None:
        pytest.skip(f"no Hangul font installed (apt-get install {chart_fonts.FONT_PACKAGE})")
    return font


@pytest.mark.parametrize("prefer_matplotlib", [True, False])
def test_korean_names_drawn_with_a_hangul_font(
    prefer_matplotlib: bool, korean_font: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if prefer_matplotlib:
        need("matplotlib")
    drawn = record_drawn_text(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" without Hangul
        png = talk_time_chart(talk_time(SEGMENTS), Locale.KO, prefer_matplotlib=prefer_matplotlib)
    assert png.startswith(b"\x89PNG")
    assert {"민수", "발언 시간", "1.5분 (60%)"} <= set(drawn.texts)
    fonts = {font for text, font in drawn.items if text == "민수"}
    expected = _font_name(korean_font) if prefer_matplotlib else str(korean_font)
    assert fonts == {expected}


@pytest.mark.parametrize("prefer_matplotlib", [True, False])
def test_without_a_hangul_font_labels_are_ascii(
    prefer_matplotlib: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if prefer_matplotlib:
        need("matplotlib")
    monkeypatch.setattr(chart_fonts, "hangul_font", lambda explicit=None: None)
    drawn = record_drawn_text(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = talk_time_chart(talk_time(SEGMENTS), Locale.KO, prefer_matplotlib=prefer_matplotlib)
    assert png.startswith(b"\x89PNG")
    assert {"#1", "?", "Alex", "Talk time"} <= set(drawn.texts)
    assert all(text.isascii() for text in drawn.texts)


def _font_name(path: Path) -> str:
    from matplotlib.font_manager import FontProperties

    return FontProperties(fname=path).get_name()
