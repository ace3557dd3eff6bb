"""Meeting exports with speakers and timestamps: Markdown, SRT, WebVTT, JSON, DOCX and PDF."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path

from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.i18n import Translator
from core.meetings.subtitles import cues
from core.meetings.summary.model import MeetingSummary


class ExportFormat(StrEnum):
    """A file format a meeting exports to."""

    MD = "md"
    SRT = "srt"
    VTT = "vtt"
    JSON = "json"
    DOCX = "docx"
    PDF = "pdf"


def timestamp(seconds: float, *, sep: str = ".", hours: bool = True) -> str:
    """``HH:MM:SS.mmm`` (``sep=","`` for SRT); ``hours=False`` gives ``MM:SS`` for reading."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    if not hours:
        return f"{h * 60 + m:02d}:{s:02d}"
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _speaker(seg: TranscriptSegment, tr: Translator) -> str:
    return seg.speaker or tr("meetings.export.unknown_speaker")


def _spoken(segments: Sequence[TranscriptSegment]) -> list[TranscriptSegment]:
    return [s for s in segments if s.text.strip()]


def to_srt(segments: Sequence[TranscriptSegment], locale: Locale = Locale.EN) -> str:
    """SubRip: numbered readable cues (``core.meetings.subtitles``), ``Speaker: text``."""
    tr = Translator(locale)
    out = [
        f"{i}\n{timestamp(c.start, sep=',')} --> {timestamp(c.end, sep=',')}\n" + "\n".join(c.lines) + "\n"
        for i, c in enumerate(cues(segments, label=lambda s: f"{_speaker(s, tr)}:"), 1)
    ]
    return "\n".join(out)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: Sequence[TranscriptSegment], locale: Locale = Locale.EN) -> str:
    """WebVTT with voice spans: ``<v Speaker>text``."""
    tr = Translator(locale)
    out = []
    for c in cues(segments):
        speaker = _vtt_escape(c.speaker or tr("meetings.export.unknown_speaker"))
        body = "\n".join(_vtt_escape(line) for line in c.lines)
        out.append(f"{timestamp(c.start)} --> {timestamp(c.end)}\n<v {speaker}>{body}\n")
    return "WEBVTT\n\n" + "\n".join(out)


def to_json(
    segments: Sequence[TranscriptSegment],
    *,
    title: str = "",
    summary: MeetingSummary | None = None,
    meeting: Mapping[str, object] | None = None,
) -> str:
    """JSON: ``{"meeting": {"id", "date", "duration_s", "language"}, "title", "segments": [{"start", "end",
    "speaker", "text", "words": [{"start", "end", "text"}]}], "summary"}`` (stable keys; ``words`` is empty
    when the recogniser gave no word times or the segment was corrected; ``summary`` is
    ``MeetingSummary.to_dict``)."""
    doc = {
        "meeting": dict(meeting or {}),
        "title": title,
        "segments": [
            {
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "speaker": s.speaker,
                "text": s.text.strip(),
                "words": [
                    {"start": round(w.start, 3), "end": round(w.end, 3), "text": w.text.strip()}
                    for w in s.words
                ],
            }
            for s in _spoken(segments)
        ],
        "summary": summary.to_dict() if summary else None,
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


def _cite(at: Sequence[float]) -> str:
    return ", ".join(timestamp(t, hours=False) for t in at)


def _summary_lines(summary: MeetingSummary, tr: Translator) -> list[tuple[str, list[str]]]:
    """(heading, bullet lines) pairs shared by Markdown and DOCX."""
    actions = []
    for a in summary.action_items:
        extra = [
            tr("meetings.export.owner", owner=a.owner) if a.owner else "",
            tr("meetings.export.due", due=a.due_text()) if a.due_text() else "",
        ]
        meta = "; ".join(x for x in extra if x)
        actions.append(f"{a.text}" + (f" ({meta})" if meta else "") + f" [{_cite(a.at)}]")
    sections = [
        (
            tr("meetings.export.abstract"),
            [summary.abstract + (f" [{_cite(summary.abstract_at)}]" if summary.abstract_at else "")],
        ),
        (tr("meetings.export.decisions"), [f"{d.text} [{_cite(d.at)}]" for d in summary.decisions]),
        (tr("meetings.export.action_items"), actions),
        (tr("meetings.export.open_questions"), [f"{q.text} [{_cite(q.at)}]" for q in summary.open_questions]),
    ]
    return [(h, lines) for h, lines in sections if any(line.strip() for line in lines)]


def to_markdown(
    segments: Sequence[TranscriptSegment],
    *,
    title: str = "",
    locale: Locale = Locale.EN,
    summary: MeetingSummary | None = None,
) -> str:
    """Markdown: optional summary sections, then ``**[MM:SS] Speaker:** text`` lines."""
    tr = Translator(locale)
    out = [f"# {title or tr('meetings.export.transcript')}", ""]
    if summary:
        out += [f"## {tr('meetings.export.summary')}", ""]
        for heading, lines in _summary_lines(summary, tr):
            out += [f"### {heading}", "", *[f"- {line}" for line in lines], ""]
    out += [f"## {tr('meetings.export.transcript')}", ""]
    for s in _spoken(segments):
        out += [f"**[{timestamp(s.start, hours=False)}] {_speaker(s, tr)}:** {' '.join(s.text.split())}", ""]
    return "\n".join(out)


def to_docx(
    segments: Sequence[TranscriptSegment],
    *,
    title: str = "",
    locale: Locale = Locale.EN,
    summary: MeetingSummary | None = None,
) -> bytes:
    """A Word document: title, summary sections, then one paragraph per segment (time and speaker in bold)."""
    import docx

    tr = Translator(locale)
    document = docx.Document()
    document.add_heading(title or tr("meetings.export.transcript"), level=0)
    document.add_paragraph(tr("meetings.export.generated", date=date.today().isoformat()))
    if summary:
        document.add_heading(tr("meetings.export.summary"), level=1)
        for heading, lines in _summary_lines(summary, tr):
            document.add_heading(heading, level=2)
            for line in lines:
                document.add_paragraph(line, style="List Bullet")
    document.add_heading(tr("meetings.export.transcript"), level=1)
    for s in _spoken(segments):
        para = document.add_paragraph()
        para.add_run(f"[{timestamp(s.start, hours=False)}] {_speaker(s, tr)}: ").bold = True
        para.add_run(" ".join(s.text.split()))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf(
    segments: Sequence[TranscriptSegment],
    *,
    title: str,
    locale: Locale,
    summary: MeetingSummary | None,
    font_path: Path | None,
) -> bytes:
    from core.chart_fonts import hangul_font
    from core.meetings.pdf_export import to_pdf

    tr = Translator(locale)
    return to_pdf(
        _spoken(segments),
        title=title or tr("meetings.export.transcript"),
        summary_sections=_summary_lines(summary, tr) if summary else [],
        transcript_heading=tr("meetings.export.transcript"),
        summary_heading=tr("meetings.export.summary"),
        generated=tr("meetings.export.generated", date=date.today().isoformat()),
        line=lambda s: (f"[{timestamp(s.start, hours=False)}] {_speaker(s, tr)}:", " ".join(s.text.split())),
        font_path=hangul_font(font_path),
    )


def export(
    segments: Sequence[TranscriptSegment],
    fmt: ExportFormat | str,
    *,
    title: str = "",
    locale: Locale = Locale.EN,
    summary: MeetingSummary | None = None,
    meeting: Mapping[str, object] | None = None,
    font_path: Path | None = None,
) -> bytes:
    """Export in ``fmt``; text formats are UTF-8. ``meeting`` is the JSON export's meeting record;
    ``font_path`` a font with Hangul for PDF (found among installed fonts when not given)."""
    match ExportFormat(fmt):
        case ExportFormat.MD:
            return to_markdown(segments, title=title, locale=locale, summary=summary).encode()
        case ExportFormat.SRT:
            return to_srt(segments, locale).encode()
        case ExportFormat.VTT:
            return to_vtt(segments, locale).encode()
        case ExportFormat.JSON:
            return to_json(segments, title=title, summary=summary, meeting=meeting).encode()
        case ExportFormat.DOCX:
            return to_docx(segments, title=title, locale=locale, summary=summary)
        case ExportFormat.PDF:
            return _pdf(segments, title=title, locale=locale, summary=summary, font_path=font_path)
