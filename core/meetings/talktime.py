"""Talk time per speaker and a PNG bar chart of it (matplotlib when installed, else Pillow)."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core import chart_fonts
from core.chart_fonts import ascii_label, matplotlib_font
from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.i18n import Translator


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakerTalkTime:
    """How long one speaker talked, in how many segments, and their share of all talk."""

    speaker: str
    seconds: float
    segments: int
    share: float


def talk_time(segments: Sequence[TranscriptSegment], unknown: str = "?") -> tuple[SpeakerTalkTime, ...]:
    """Seconds per speaker (a speaker's overlapping segments counted once), longest first."""
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for s in segments:
        if s.end > s.start and s.text.strip():
            spans[s.speaker or unknown].append((s.start, s.end))
    totals: dict[str, float] = {}
    for speaker, items in spans.items():
        total, cur_start, cur_end = 0.0, None, None
        for start, end in sorted(items):
            if cur_end is None or start > cur_end:
                if cur_end is not None and cur_start is not None:
                    total += cur_end - cur_start
                cur_start, cur_end = start, end
            else:
                cur_end = max(cur_end, end)
        if cur_end is not None and cur_start is not None:
            total += cur_end - cur_start
        totals[speaker] = total
    grand = sum(totals.values()) or 1.0
    stats = [
        SpeakerTalkTime(speaker=k, seconds=round(v, 3), segments=len(spans[k]), share=v / grand)
        for k, v in totals.items()
    ]
    return tuple(sorted(stats, key=lambda x: (-x.seconds, x.speaker)))


@dataclass(frozen=True, slots=True, kw_only=True)
class _ChartText:
    """Every word on the chart, in the user's locale with a Hangul font, else ASCII."""

    title: str
    axis: str
    names: tuple[str, ...]
    values: tuple[str, ...]


def _chart_text(stats: Sequence[SpeakerTalkTime], locale: Locale, font: Path | None) -> _ChartText:
    tr = Translator(locale if font else Locale.EN)
    return _ChartText(
        title=tr("meetings.talktime.title"),
        axis=tr("meetings.talktime.axis"),
        names=tuple(s.speaker if font else ascii_label(s.speaker, i) for i, s in enumerate(stats, 1)),
        values=tuple(
            tr("meetings.talktime.label", minutes=s.seconds / 60, share=s.share * 100) for s in stats
        ),
    )


def _matplotlib_png(stats: Sequence[SpeakerTalkTime], text: _ChartText, font: Path | None) -> bytes:
    from matplotlib import figure

    minutes = [s.seconds / 60 for s in stats]
    rows = range(len(stats))
    buffer = io.BytesIO()
    with matplotlib_font(font):
        fig = figure.Figure(figsize=(7, 0.6 * len(stats) + 1.5), dpi=100)
        ax = fig.subplots()
        bars = ax.barh(rows, minutes, color="#4C72B0")
        ax.set_yticks(rows, text.names)  # by row, not by name: two names can share an ASCII label
        ax.invert_yaxis()  # longest first, at the top
        for bar, value in zip(bars, text.values, strict=True):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + value, va="center")
        ax.set_title(text.title)
        ax.set_xlabel(text.axis)
        ax.set_xlim(0, max(minutes, default=1) * 1.4 or 1)
        fig.tight_layout()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _pillow_png(stats: Sequence[SpeakerTalkTime], text: _ChartText, font: Path | None) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    small = ImageFont.truetype(font, 14) if font else ImageFont.load_default()
    large = ImageFont.truetype(font, 18) if font else small
    width, row = 700, 36
    image = Image.new("RGB", (width, 60 + row * len(stats)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), text.title, fill="black", font=large)
    longest = max((s.seconds for s in stats), default=1.0) or 1.0
    for i, (s, name, value) in enumerate(zip(stats, text.names, text.values, strict=True)):
        y = 45 + i * row
        draw.text((10, y + 8), name[:18], fill="black", font=small)
        bar = int((width - 360) * s.seconds / longest)
        draw.rectangle((160, y, 160 + max(bar, 1), y + row - 10), fill="#4C72B0")
        draw.text((170 + bar, y + 8), value, fill="black", font=small)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def talk_time_chart(
    stats: Sequence[SpeakerTalkTime],
    locale: Locale = Locale.EN,
    *,
    prefer_matplotlib: bool = True,
    font_path: Path | None = None,
) -> bytes:
    """A PNG bar chart of talk time per speaker.

    Names and words are drawn in ``locale`` with a Hangul font (``font_path`` or an installed one);
    without one, in English with ``#n`` for names the default fonts cannot draw.
    """
    font = chart_fonts.hangul_font(font_path)
    text = _chart_text(stats, locale, font)
    if prefer_matplotlib:
        try:
            return _matplotlib_png(stats, text, font)
        except ImportError:
            pass
    return _pillow_png(stats, text, font)
