"""Exports parsed back: SRT and WebVTT with small parsers, JSON, Markdown, DOCX through python-docx."""

from __future__ import annotations

import io
import itertools
import json
import re

import pytest

from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.meetings.exports import ExportFormat, export, timestamp, to_markdown, to_srt, to_vtt
from core.meetings.summary import ActionItem, MeetingSummary, SummaryPoint
from tests.support.extras import need

SEGMENTS = (
    TranscriptSegment(start=0.5, end=3.25, text="안녕하세요, 회의를 시작할게요.", speaker="민수"),
    TranscriptSegment(start=3.5, end=7.0, text="I will send the <draft> by Friday & more.", speaker="Alex"),
    TranscriptSegment(start=3661.042, end=3662.5, text="Done.", speaker=None),
)
SUMMARY = MeetingSummary(
    abstract="Budget and launch.",
    abstract_at=(0.5,),
    decisions=(SummaryPoint(text="Launch moves to May.", speaker="민수", at=(3.5,)),),
    action_items=(ActionItem(text="Send the draft", owner="Alex", due="by Friday", at=(3.5,)),),
    open_questions=(SummaryPoint(text="Who checks the budget?", at=(65.0,)),),
)
TIME = r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d)"


def seconds(match: tuple[str, ...]) -> float:
    h, m, s, ms = (int(x) for x in match)
    return h * 3600 + m * 60 + s + ms / 1000


def parse_srt(text: str) -> list[tuple[int, float, float, str]]:
    cues = []
    for block in text.strip().split("\n\n"):
        index, times, *body = block.split("\n")
        start, end = re.findall(TIME, times)
        cues.append((int(index), seconds(start), seconds(end), "\n".join(body)))
    return cues


def parse_vtt(text: str) -> list[tuple[float, float, str, str]]:
    header, *blocks = text.strip().split("\n\n")
    assert header == "WEBVTT"
    cues = []
    for block in blocks:
        times, body = block.split("\n", 1)
        start, end = re.findall(TIME, times)
        voice = re.fullmatch(r"<v ([^>]+)>(.*)", body, re.S)
        assert voice, body
        unescape = lambda s: s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")  # noqa: E731
        cues.append((seconds(start), seconds(end), unescape(voice.group(1)), unescape(voice.group(2))))
    return cues


def test_timestamps() -> None:
    assert timestamp(3661.042) == "01:01:01.042"
    assert timestamp(3661.042, sep=",") == "01:01:01,042"
    assert timestamp(75.4, hours=False) == "01:15"


def test_srt_round_trip() -> None:
    cues = parse_srt(to_srt(SEGMENTS, Locale.KO))
    assert [c[0] for c in cues] == [1, 2, 3]
    assert cues[0][1:] == (0.5, 3.25, "민수: 안녕하세요, 회의를 시작할게요.")
    # 48 characters: wrapped into two lines of at most 42.
    assert cues[1][3] == "Alex: I will send the <draft> by Friday &\nmore."
    assert cues[2][1] == pytest.approx(3661.042)
    assert cues[2][3] == "알 수 없는 화자: Done."


def test_vtt_round_trip() -> None:
    cues = parse_vtt(to_vtt(SEGMENTS))
    assert cues[0] == (0.5, 3.25, "민수", "안녕하세요, 회의를 시작할게요.")
    assert cues[1][2:] == ("Alex", "I will send the <draft> by Friday & more.")
    assert cues[2][2] == "Unknown speaker"


def test_json_round_trip_with_summary() -> None:
    doc = json.loads(export(SEGMENTS, "json", title="Weekly", summary=SUMMARY))
    assert doc["title"] == "Weekly"
    assert doc["segments"][0] == {
        "start": 0.5,
        "end": 3.25,
        "speaker": "민수",
        "text": "안녕하세요, 회의를 시작할게요.",
        "words": [],
    }
    assert doc["segments"][2]["speaker"] is None
    assert MeetingSummary.from_dict(doc["summary"]) == SUMMARY


def test_markdown_has_speakers_times_and_summary() -> None:
    md = to_markdown(SEGMENTS, title="주간 회의", locale=Locale.KO, summary=SUMMARY)
    assert md.startswith("# 주간 회의")
    assert "**[00:00] 민수:** 안녕하세요, 회의를 시작할게요." in md
    assert "**[61:01] 알 수 없는 화자:** Done." in md
    assert "### 할 일" in md
    assert "- Send the draft (담당: Alex; 기한: by Friday) [00:03]" in md
    assert "Who checks the budget? [01:05]" in md


def test_docx_reads_back() -> None:
    docx = need("docx")
    data = export(SEGMENTS, ExportFormat.DOCX, title="Weekly", locale=Locale.EN, summary=SUMMARY)
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "Weekly"
    assert "Action items" in texts
    assert "Send the draft (owner: Alex; due: by Friday) [00:03]" in texts
    line = next(p for p in document.paragraphs if p.text.startswith("[00:03] Alex:"))
    assert line.text == "[00:03] Alex: I will send the <draft> by Friday & more."
    assert line.runs[0].bold is True


def test_every_format_exports() -> None:
    for fmt in ExportFormat:
        assert export(SEGMENTS, fmt)


def test_subtitles_are_readable_cues_that_never_overlap() -> None:
    from core.domain.audio import TranscriptSegment
    from core.meetings.subtitles import MAX_CUE_SECONDS, MAX_LINE_CHARS, cues

    long_talk = " ".join(f"word{i}" for i in range(120))  # one 47-second monologue
    segments = [
        TranscriptSegment(start=0.0, end=47.0, text=long_talk, speaker="Sam"),
        TranscriptSegment(start=20.0, end=24.0, text="Sorry to cut in, quick question here.", speaker="Kim"),
        TranscriptSegment(
            start=50.0, end=53.0, text="오늘 회의는 여기까지 하겠습니다. 수고하셨습니다.", speaker="민수"
        ),
    ]
    out = cues(segments, label=lambda s: f"{s.speaker}:")
    assert len(out) > 7
    for cue in out:
        assert cue.end - cue.start <= MAX_CUE_SECONDS + 1e-6
        assert 1 <= len(cue.lines) <= 2
        assert all(len(line) <= MAX_LINE_CHARS for line in cue.lines)
    for first, second in itertools.pairwise(out):
        assert first.end <= second.start
    words = " ".join(" ".join(c.lines) for c in out if c.speaker == "Sam").replace("Sam: ", "").split()
    assert [w for w in words if w != "Sam:"] == long_talk.split()  # nothing lost or reordered
    srt = to_srt(segments)
    assert "Kim: Sorry to cut in" in srt


def test_pdf_export_carries_summary_and_korean_transcript() -> None:
    from core.chart_fonts import hangul_font

    if hangul_font() is None:
        pytest.skip("no Hangul font installed (apt-get install fonts-nanum)")
    data = export(SEGMENTS, "pdf", title="주간 회의", locale=Locale.KO, summary=SUMMARY)
    assert data.startswith(b"%PDF-")
    assert len(data) > 2000
    assert b"/FontFile2" in data  # the Hangul font is embedded (subset)


def test_pdf_without_a_hangul_font_says_which_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.meetings import pdf_export

    monkeypatch.setattr("core.chart_fonts.hangul_font", lambda explicit=None: None)
    with pytest.raises(pdf_export.PdfFontMissing, match="fonts-nanum"):
        export(SEGMENTS, "pdf", title="주간 회의", locale=Locale.KO, summary=SUMMARY)
    latin = [s for s in SEGMENTS if s.text.isascii() and (s.speaker or "").isascii()]
    assert export(latin, "pdf", title="Weekly", locale=Locale.EN).startswith(b"%PDF-")
