"""The LLM meeting summary: the transcript in chunks by tokens, each summarized, the notes combined.

Each chunk is summarized with ``prompts/meeting_summary_chunk.j2`` and the notes are combined with
``prompts/meeting_summary_combine.j2`` (both through ``core.prompt_library``). Malformed model output or a
failing model falls back to the offline summary.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.meetings.summary.model import MeetingSummary
from core.meetings.summary.offline import summarize_offline
from core.ports import ChatModel, ChatModelError, PromptMessage
from core.prompt_library import render_messages
from core.safety.injection import inline_data

log = logging.getLogger(__name__)


def _fence_safe(text: str) -> str:
    # Transcript text and speaker names (Discord display names) are data: one line each, with no angle
    # bracket left, so nothing can close the <transcript>/<notes> tag it sits in (``inline_data``).
    return inline_data(text, limit=1_000_000)


def transcript_lines(segments: Sequence[TranscriptSegment], unknown: str = "?") -> list[str]:
    """One line per segment, ``[t=12.3] Speaker: text``, as the prompts expect."""
    return [
        f"[t={s.start:.1f}] {inline_data(s.speaker or unknown, limit=64)}: {_fence_safe(s.text.strip())}"
        for s in segments
        if s.text.strip()
    ]


def chunk_lines(lines: Sequence[str], count_tokens: Any, chunk_tokens: int) -> list[list[str]]:
    """Group lines into chunks of at most ``chunk_tokens`` tokens (a longer single line is its own chunk)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for line in lines:
        cost = int(count_tokens(line)) + 1
        if current and used + cost > chunk_tokens:
            chunks.append(current)
            current, used = [], 0
        current.append(line)
        used += cost
    if current:
        chunks.append(current)
    return chunks


def parse_summary_json(text: str, engine: str) -> MeetingSummary:
    """Parse a model's JSON answer, tolerating code fences and prose around it; ``ValueError`` if unusable."""
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in the model output")
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as exc:
        end = text.rfind("}")
        try:
            data = json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            raise ValueError(f"malformed JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("the JSON is not an object")
    data["engine"] = engine
    return MeetingSummary.from_dict(data)


async def _ask(
    chat_model: ChatModel, messages: list[PromptMessage], max_tokens: int, timeout_s: float
) -> str:
    async with asyncio.timeout(timeout_s):
        completion = await chat_model.complete(messages, max_tokens=max_tokens, temperature=0.2)
    return completion.text


async def summarize_with_llm(
    chat_model: ChatModel,
    segments: Sequence[TranscriptSegment],
    locale: Locale | str,
    chunk_tokens: int = 3000,
    *,
    max_tokens: int = 1024,
    timeout_s: float = 180.0,
) -> MeetingSummary:
    """Summarize with a chat model in chunks, then combine; falls back to :func:`summarize_offline`."""
    loc = Locale(locale)
    engine = f"llm:{chat_model.name}"
    lines = transcript_lines(segments)
    if not lines:
        return summarize_offline(segments)
    chunks = chunk_lines(lines, chat_model.count_tokens, chunk_tokens)
    try:
        notes: list[MeetingSummary] = []
        for index, chunk in enumerate(chunks, 1):
            messages = render_messages(
                "meeting_summary_chunk.j2", locale=loc.value, lines=chunk, part=index, parts=len(chunks)
            )
            notes.append(parse_summary_json(await _ask(chat_model, messages, max_tokens, timeout_s), engine))
        if len(notes) == 1:
            return notes[0]
        messages = render_messages(
            "meeting_summary_combine.j2",
            locale=loc.value,
            notes=[_fence_safe(n.to_json()) for n in notes],
        )
        return parse_summary_json(await _ask(chat_model, messages, max_tokens, timeout_s), engine)
    except (ValueError, ChatModelError, TimeoutError) as exc:
        log.warning("LLM summary failed (%s); using the offline summary", exc)
        return summarize_offline(segments)
