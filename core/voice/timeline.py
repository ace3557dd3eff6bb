"""A picture of who spoke when, sent with the speaker samples so the user can look as well as listen.

matplotlib draws it when installed (no display needed); otherwise Pillow draws a simpler version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from core import chart_fonts
from core.chart_fonts import ascii_label, matplotlib_font
from core.domain.audio import SpeakerTurn

# Colour-blind-safe palette (Okabe-Ito), one colour per speaker in order of appearance.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")


def _speakers(turns: Sequence[SpeakerTurn]) -> list[str]:
    return list(dict.fromkeys(t.speaker for t in sorted(turns, key=lambda t: t.start)))


def render_timeline_png(
    turns: Sequence[SpeakerTurn],
    duration_s: float,
    path: Path | str,
    labels: Mapping[str, str] | None = None,
    *,
    title: str = "",
    axis_label: str = "",
) -> Path:
    """Draw one row per speaker with a bar for each turn; ``labels`` maps speaker ids to display names.

    ``title`` and ``axis_label`` come from the caller's locale (``voice.timeline.*``). Without a Hangul font
    (:func:`core.chart_fonts.hangul_font`) a label the default fonts cannot draw becomes ``#n`` (its place
    in ``labels``), a title is left out and the axis reads "s".
    """
    dst = Path(path)
    dst.parent.mkdir(parents=True, exist_ok=True)
    labels = labels or {}
    speakers = _speakers(turns)
    names = [labels.get(s, s) for s in speakers]
    font = chart_fonts.hangul_font()
    if font is None:
        place = {s: n for n, s in enumerate(labels, 1)}  # "#2" is the caller's speaker 2, as in its captions
        names = [ascii_label(labels.get(s, s), place.get(s, row)) for row, s in enumerate(speakers, 1)]
        title = title if title.isascii() else ""
        axis_label = axis_label if axis_label.isascii() else "s"
    try:
        from matplotlib import figure
    except ImportError:
        return _render_with_pillow(turns, duration_s, dst, dict(zip(speakers, names, strict=True)), font)

    with matplotlib_font(font):
        fig = figure.Figure(figsize=(10, 0.6 * max(1, len(speakers)) + 1.2), dpi=110)
        ax = fig.subplots()
        for row, speaker in enumerate(speakers):
            bars = [(t.start, t.end - t.start) for t in turns if t.speaker == speaker]
            ax.broken_barh(bars, (row - 0.35, 0.7), facecolors=PALETTE[row % len(PALETTE)])
        ax.set_yticks(range(len(speakers)), names)
        ax.set_ylim(len(speakers) - 0.5, -0.5)
        ax.set_xlim(0, max(duration_s, 1e-3))
        ax.grid(axis="x", alpha=0.3)
        if axis_label:
            ax.set_xlabel(axis_label)
        if title:
            ax.set_title(title)
        fig.tight_layout()
        fig.savefig(dst, format="png")
    return dst


def _render_with_pillow(
    turns: Sequence[SpeakerTurn], duration_s: float, dst: Path, labels: Mapping[str, str], font: Path | None
) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    face = ImageFont.truetype(font, 14) if font else ImageFont.load_default()
    speakers = _speakers(turns)
    left, width, row_h, top = 120, 960, 36, 10
    image = Image.new("RGB", (left + width + 20, top * 2 + row_h * max(1, len(speakers))), "white")
    draw = ImageDraw.Draw(image)
    scale = width / max(duration_s, 1e-3)
    for row, speaker in enumerate(speakers):
        y = top + row * row_h
        draw.text((8, y + row_h // 3), labels[speaker], fill="black", font=face)
        for t in turns:
            if t.speaker == speaker:
                x0, x1 = left + t.start * scale, left + max(t.end * scale, t.start * scale + 1)
                draw.rectangle((x0, y + 6, x1, y + row_h - 6), fill=PALETTE[row % len(PALETTE)])
    image.save(dst, format="PNG")
    return dst
