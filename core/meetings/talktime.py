"""Talk time per speaker and a PNG bar chart of it (matplotlib when installed, else Pillow)."""

from __future__ import annotations

import io
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

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


def _matplotlib_png(stats: Sequence[SpeakerTalkTime], tr: Translator) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    # Prefer a font with Hangul so Korean names render; otherwise the glyph warnings are expected noise.
    korean = [
        f.name
        for f in font_manager.fontManager.ttflist
        if any(k in f.name for k in ("CJK", "Nanum", "Malgun", "Gothic", "KR"))
    ]
    labels = [s.speaker for s in stats][::-1]
    minutes = [s.seconds / 60 for s in stats][::-1]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph.*missing.*")
        fig, ax = plt.subplots(figsize=(7, 0.6 * len(stats) + 1.5), dpi=100)
        try:
            if korean:
                plt.rcParams["font.family"] = korean[0]
            bars = ax.barh(labels, minutes, color="#4C72B0")
            for bar, s in zip(bars, stats[::-1], strict=True):
                ax.text(
                    bar.get_width(),
                    bar.get_y() + bar.get_height() / 2,
                    " " + tr("meetings.talktime.label", minutes=s.seconds / 60, share=s.share * 100),
                    va="center",
                )
            ax.set_title(tr("meetings.talktime.title"))
            ax.set_xlabel(tr("meetings.talktime.axis"))
            ax.set_xlim(0, max(minutes, default=1) * 1.4 or 1)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
        finally:
            plt.close(fig)
    return buffer.getvalue()


def _pillow_png(stats: Sequence[SpeakerTalkTime], tr: Translator) -> bytes:
    from PIL import Image, ImageDraw

    width, row = 700, 36
    image = Image.new("RGB", (width, 60 + row * len(stats)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), tr("meetings.talktime.title"), fill="black")
    longest = max((s.seconds for s in stats), default=1.0) or 1.0
    for i, s in enumerate(stats):
        y = 45 + i * row
        draw.text((10, y + 8), s.speaker[:18], fill="black")
        bar = int((width - 360) * s.seconds / longest)
        draw.rectangle((160, y, 160 + max(bar, 1), y + row - 10), fill="#4C72B0")
        draw.text(
            (170 + bar, y + 8),
            tr("meetings.talktime.label", minutes=s.seconds / 60, share=s.share * 100),
            fill="black",
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def talk_time_chart(
    stats: Sequence[SpeakerTalkTime], locale: Locale = Locale.EN, *, prefer_matplotlib: bool = True
) -> bytes:
    """A PNG bar chart of talk time per speaker."""
    tr = Translator(locale)
    if prefer_matplotlib:
        try:
            return _matplotlib_png(stats, tr)
        except ImportError:
            pass
    return _pillow_png(stats, tr)
