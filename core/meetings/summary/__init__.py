"""Meeting summaries: the types (``model``), the offline summarizer (``offline``), the LLM one (``llm``)."""

from core.meetings.summary.llm import summarize_with_llm, transcript_lines
from core.meetings.summary.model import OFFLINE_ENGINE, ActionItem, MeetingSummary, SummaryPoint
from core.meetings.summary.offline import centrality, summarize_offline

__all__ = [
    "OFFLINE_ENGINE",
    "ActionItem",
    "MeetingSummary",
    "SummaryPoint",
    "centrality",
    "summarize_offline",
    "summarize_with_llm",
    "transcript_lines",
]
