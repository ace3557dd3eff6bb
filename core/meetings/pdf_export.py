"""The meeting as a PDF (fpdf2): title, summary sections with their times, then the transcript.

Korean needs a font with Hangul glyphs: the one the talk-time chart uses (``core.chart_fonts``, e.g.
fonts-nanum). Without one, a meeting whose text is Latin-1 still exports with a built-in font; any other
text raises ``PdfFontMissing`` naming the package to install.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from core.domain.audio import TranscriptSegment

FONT_FAMILY = "vos"
FONT_SUFFIXES = (".ttf", ".otf")


class PdfFontMissing(RuntimeError):
    """The meeting's text needs a Unicode font and none is installed."""


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def to_pdf(
    segments: Sequence[TranscriptSegment],
    *,
    title: str,
    summary_sections: Sequence[tuple[str, list[str]]],
    transcript_heading: str,
    summary_heading: str,
    generated: str,
    line: Callable[[TranscriptSegment], tuple[str, str]],
    font_path: Path | None,
) -> bytes:
    """A PDF of the meeting; ``line`` gives each segment's ``(time and speaker, text)``."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    # fontTools lists every font table it cannot subset (hinting tables of NanumGothic): not our news.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)

    texts = [title, *[h for h, _ in summary_sections], *[x for _, lines in summary_sections for x in lines]]
    texts += [s.text for s in segments] + [line(s)[0] for s in segments]
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("VOS")
    if font_path is not None and font_path.suffix.lower() in FONT_SUFFIXES:
        pdf.add_font(FONT_FAMILY, "", str(font_path))
        family = FONT_FAMILY
    elif all(_latin1(t) for t in texts):
        family = "helvetica"
    else:
        raise PdfFontMissing("PDF export needs a Hangul font: apt-get install fonts-nanum")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def paragraph(text: str, size: float, gap: float = 1.5) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(width, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    paragraph(title, 18, 2)
    paragraph(generated, 9, 4)
    if summary_sections:
        paragraph(summary_heading, 14, 2)
        for heading, items in summary_sections:
            paragraph(heading, 12, 1)
            for item in items:
                paragraph(f"• {item}", 10, 1)
            pdf.ln(2)
    paragraph(transcript_heading, 14, 2)
    for seg in segments:
        head, text = line(seg)
        paragraph(f"{head} {text}", 10, 1)
    return bytes(pdf.output())


__all__ = ["PdfFontMissing", "to_pdf"]
