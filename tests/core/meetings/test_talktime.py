"""Talk time per speaker and its PNG chart."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.meetings.talktime import talk_time, talk_time_chart

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
        pytest.importorskip("matplotlib")
    png = talk_time_chart(talk_time(SEGMENTS), Locale.KO, prefer_matplotlib=prefer_matplotlib)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width >= 300
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or ()) > 2  # bars and text were drawn


def test_chart_of_nothing_still_renders() -> None:
    assert talk_time_chart(()).startswith(b"\x89PNG")
