"""Renames and transcript corrections carried into a stored summary.

A rename changes a speaker's name in the speaker and owner fields and wherever the summary's text names
them ("Speaker 2 will send the report"), matched as a whole name so "Speaker 1" never touches
"Speaker 10" (a Korean particle may follow it: "화자 1과"). A correction of a segment's text replaces the
old wording wherever the summary quotes it; an offline summary is instead written again from the
corrected transcript (it is cheap and deterministic), so a sentence that the correction turns into a
decision or a commitment is picked up too.
"""

from __future__ import annotations

import re
from dataclasses import replace

from core.meetings.summary.model import MeetingSummary, SummaryPoint


def swap_name(text: str, old: str, new: str) -> str:
    """``text`` with the whole name ``old`` replaced by ``new``."""
    if not old or old == new:
        return text
    # Korean particles follow a name directly ("화자 1과", "민수가"), so only Latin letters and digits
    # after the name make it another name ("Speaker 10", "Sam" in "Samuel").
    return re.sub(rf"(?<![0-9A-Za-z가-힣]){re.escape(old)}(?![0-9A-Za-z])", lambda _m: new, text)


def rename_in_summary(summary: MeetingSummary, old: str, new: str) -> MeetingSummary:
    """The summary with a speaker's name changed in its speaker and owner fields and in its text."""

    def name(value: str | None) -> str | None:
        return new if value == old else value

    def point(p: SummaryPoint) -> SummaryPoint:
        return replace(p, speaker=name(p.speaker), text=swap_name(p.text, old, new))

    return replace(
        summary,
        abstract=swap_name(summary.abstract, old, new),
        decisions=tuple(point(p) for p in summary.decisions),
        open_questions=tuple(point(p) for p in summary.open_questions),
        action_items=tuple(
            replace(a, owner=name(a.owner), text=swap_name(a.text, old, new)) for a in summary.action_items
        ),
    )


def _quote(text: str, old: str, new: str) -> str:
    if old and old in text:
        return text.replace(old, new)
    return text


def correct_in_summary(summary: MeetingSummary, old: str, new: str) -> MeetingSummary:
    """The summary with a corrected segment's old wording replaced wherever it is quoted."""
    old, new = old.strip(), new.strip()
    return replace(
        summary,
        abstract=_quote(summary.abstract, old, new),
        decisions=tuple(replace(p, text=_quote(p.text, old, new)) for p in summary.decisions),
        open_questions=tuple(replace(p, text=_quote(p.text, old, new)) for p in summary.open_questions),
        action_items=tuple(replace(a, text=_quote(a.text, old, new)) for a in summary.action_items),
    )


__all__ = ["correct_in_summary", "rename_in_summary", "swap_name"]
