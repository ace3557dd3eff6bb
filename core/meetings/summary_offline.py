"""Meeting summaries: the summary types, an offline summarizer (no LLM) and an LLM summarizer.

Offline: the most central sentences (TextRank over character n-gram TF-IDF similarity, so Korean works
without a morpheme analyser) form the abstract; decisions, action items (owner, due date when said) and open
questions are found by Korean and English patterns. Every item cites the start times it came from.

LLM: the transcript is cut into chunks by tokens, each chunk is summarized with
``prompts/meeting_summary_chunk.j2``, and the notes are combined with ``prompts/meeting_summary_combine.j2``.
Malformed model output or a failing model falls back to the offline summary.
"""

from __future__ import annotations

import json
import logging
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.ports import ChatModel, ChatModelError, PromptMessage
from core.safety.injection import inline_data

log = logging.getLogger(__name__)
PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
OFFLINE_ENGINE = "offline"


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryPoint:
    """A decision or open question, citing the start times (seconds) it came from."""

    text: str
    speaker: str | None = None
    at: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionItem:
    """Something someone will do: its owner and due date when they were said."""

    text: str
    owner: str | None = None
    due: str | None = None
    at: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingSummary:
    """What a meeting decided, who does what, what is still open, and a short abstract."""

    abstract: str
    abstract_at: tuple[float, ...] = ()
    decisions: tuple[SummaryPoint, ...] = ()
    action_items: tuple[ActionItem, ...] = ()
    open_questions: tuple[SummaryPoint, ...] = ()
    engine: str = OFFLINE_ENGINE

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def to_json(self) -> str:
        """JSON text (UTF-8 characters kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeetingSummary:
        """Build from :meth:`to_dict` output (or an LLM's JSON); raises ``ValueError`` when malformed."""
        try:
            return cls(
                abstract=str(data["abstract"]),
                abstract_at=_times(data.get("abstract_at", ())),
                decisions=tuple(_point(p) for p in data.get("decisions", ())),
                action_items=tuple(_action(a) for a in data.get("action_items", ())),
                open_questions=tuple(_point(p) for p in data.get("open_questions", ())),
                engine=str(data.get("engine", OFFLINE_ENGINE)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed summary: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> MeetingSummary:
        """Parse :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))


def _times(value: Any) -> tuple[float, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(float(v) for v in items if isinstance(v, int | float) and not isinstance(v, bool))


def _opt(value: Any) -> str | None:
    return str(value).strip() or None if value not in (None, "") else None


def _point(p: Any) -> SummaryPoint:
    if isinstance(p, str):
        return SummaryPoint(text=p)
    return SummaryPoint(text=str(p["text"]), speaker=_opt(p.get("speaker")), at=_times(p.get("at", ())))


def _action(a: Any) -> ActionItem:
    if isinstance(a, str):
        return ActionItem(text=a)
    return ActionItem(
        text=str(a["text"]), owner=_opt(a.get("owner")), due=_opt(a.get("due")), at=_times(a.get("at", ()))
    )


# --- sentences ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the transcript with who said it and when it started."""

    text: str
    speaker: str | None
    start: float


_SENTENCE_END = re.compile(r"(?<=[.!?。？！])\s+")


def split_sentences(segments: Sequence[TranscriptSegment]) -> list[Sentence]:
    """Sentences of the transcript; a sentence's start comes from its first word when words are known."""
    out: list[Sentence] = []
    for seg in segments:
        parts = [p.strip() for p in _SENTENCE_END.split(seg.text.strip()) if p.strip()]
        aligned = seg.words and len(seg.words) == len(seg.text.split())
        offset = 0
        for part in parts:
            start = seg.words[offset].start if aligned and offset < len(seg.words) else seg.start
            out.append(Sentence(part, seg.speaker, round(float(start), 2)))
            offset += len(part.split())
    return out


# --- centrality -----------------------------------------------------------------------------------

_HASH_DIM = 4096


def _ngrams(text: str) -> list[str]:
    clean = re.sub(r"[^\w]+", " ", text.casefold()).strip()
    grams: list[str] = []
    for word in clean.split():
        padded = f" {word} "
        for n in (2, 3):
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def centrality(texts: Sequence[str], damping: float = 0.85, iterations: int = 50) -> np.ndarray:
    """TextRank scores of sentences over cosine similarity of hashed character n-gram TF-IDF vectors."""
    n = len(texts)
    if n == 0:
        return np.zeros(0)
    counts = np.zeros((n, _HASH_DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for gram in _ngrams(text):
            counts[i, zlib.crc32(gram.encode()) % _HASH_DIM] += 1.0
    df = (counts > 0).sum(axis=0)
    idf = np.log((1 + n) / (1 + df)) + 1.0
    vectors = counts * idf
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    sim = vectors @ vectors.T
    np.fill_diagonal(sim, 0.0)
    row = sim.sum(axis=1, keepdims=True)
    transition = np.where(row > 0, sim / np.where(row == 0, 1.0, row), 1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        scores = (1 - damping) / n + damping * (transition.T @ scores)
    return scores


# --- patterns -------------------------------------------------------------------------------------

_I = re.IGNORECASE
_COMMIT = re.compile(
    r"\b(I(?:'ll| will| am going to|'m going to| can take)|we(?:'ll| will) (?!go with)"
    r"|action item|let'?s\b.*\bby\b)"
    r"|(할게요|할께요|할게|하겠습니다|드릴게요|드리겠습니다|볼게요|보겠습니다|맡을게요|맡겠습니다|챙길게요|챙기겠습니다"
    r"|보낼게요|보내겠습니다|올릴게요|올리겠습니다|담당)",
    _I,
)
_NOT_TASK = re.compile(
    r"(시작|마치|마무리|넘어가|말씀드리|소개)(하)?겠습니다|\bI(?:'ll| will) (start|begin|stop)\b", _I
)
_REQUEST = re.compile(r"\b(can|could|would) you\b|\bplease\b|해\s*주세요|해\s*줄래요|해\s*주실|부탁", _I)
_ADDRESSEE = re.compile(r"^\s*([A-Z][\w-]+|[가-힣]{2,4})\s*(?:씨|님)?\s*[,，]", re.UNICODE)
_DUE = re.compile(
    r"\b(?:by|before|until|no later than|due)\s+(?:the\s+)?(?:end of (?:the\s+)?(?:day|week|month|year)"
    r"|tomorrow|tonight|today|next\s+\w+|this\s+\w+|(?:mon|tues|wednes|thurs|fri|satur|sun)day"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"|\d{1,2}/\d{1,2}|noon|eod|eow)\b"
    r"|(?:(?:다음|이번|오는|다다음)\s*(?:주|달)\s*)?(?:\d{1,2}\s*월\s*)?"
    r"(?:\d{1,2}\s*(?:일|시)|[월화수목금토일]요일|내일|모레"
    r"|오늘|주말|월말|이번\s*주|다음\s*주|퇴근\s*전|점심\s*전)\s*(?:까지|전까지|중으로|안에|중에)",
    _I,
)
_DECISION = re.compile(
    r"\b(we (?:have )?decided|decided to|decision is|let'?s go with|we(?:'ll| will) go with|we agreed"
    r"|agreed (?:to|on))\b"
    r"|결정|기로\s*(?:했|하|합|함)|합의|확정|(?:으로|로)\s*(?:가죠|가겠습니다|가기로|하죠|정했)",
    _I,
)
_QUESTION_END = re.compile(r"(\?|？|까요|나요|습니까|을까|ㄹ까|는지|인가요|죠\?)\W*$")


def _due(text: str) -> str | None:
    m = _DUE.search(text)
    return m.group(0).strip() if m else None


def extract_items(
    sentences: Sequence[Sentence],
) -> tuple[tuple[SummaryPoint, ...], tuple[ActionItem, ...], tuple[SummaryPoint, ...]]:
    """Decisions, action items and open questions found by patterns; each cites its sentence's start."""
    decisions: list[SummaryPoint] = []
    actions: list[ActionItem] = []
    questions: list[SummaryPoint] = []
    for s in sentences:
        due = _due(s.text)
        is_question = bool(_QUESTION_END.search(s.text))
        is_request = bool(_REQUEST.search(s.text))
        if is_request and (due or not is_question or _COMMIT.search(s.text)):
            addressee = _ADDRESSEE.match(s.text)
            actions.append(
                ActionItem(
                    text=s.text, owner=addressee.group(1) if addressee else None, due=due, at=(s.start,)
                )
            )
        elif is_question:
            questions.append(SummaryPoint(text=s.text, speaker=s.speaker, at=(s.start,)))
        elif _DECISION.search(s.text):
            decisions.append(SummaryPoint(text=s.text, speaker=s.speaker, at=(s.start,)))
        elif (_COMMIT.search(s.text) and not _NOT_TASK.search(s.text)) or due:
            actions.append(ActionItem(text=s.text, owner=s.speaker, due=due, at=(s.start,)))
    return tuple(decisions), tuple(actions), tuple(questions)


def summarize_offline(segments: Sequence[TranscriptSegment], max_sentences: int = 5) -> MeetingSummary:
    """A summary with no LLM: central sentences as the abstract, items by patterns."""
    sentences = split_sentences(segments)
    candidates = [s for s in sentences if len(s.text) >= 8]
    scores = centrality([s.text for s in candidates])
    k = min(max_sentences, max(1, math.ceil(len(candidates) * 0.15))) if candidates else 0
    top = sorted(np.argsort(-scores, kind="stable")[:k].tolist())
    chosen = [candidates[i] for i in top]
    decisions, actions, questions = extract_items(sentences)
    return MeetingSummary(
        abstract=" ".join(s.text for s in chosen),
        abstract_at=tuple(s.start for s in chosen),
        decisions=decisions,
        action_items=actions,
        open_questions=questions,
        engine=OFFLINE_ENGINE,
    )


# --- LLM summary ----------------------------------------------------------------------------------


def render_prompt(name: str, **variables: Any) -> list[PromptMessage]:
    """Render ``prompts/<name>``: its ``{% set system %}`` block, then its body as the user turn."""
    import jinja2

    # Prompts are plain text for a model, not HTML, so autoescape would only corrupt them.
    env = jinja2.Environment(  # noqa: S701
        loader=jinja2.FileSystemLoader(PROMPTS_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )
    module = env.get_template(name).make_module(variables)
    messages = []
    system = str(getattr(module, "system", "")).strip()
    if system:
        messages.append(PromptMessage(role="system", content=system))
    messages.append(PromptMessage(role="user", content=str(module).strip()))
    return messages


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
    import asyncio

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
            messages = render_prompt(
                "meeting_summary_chunk.j2", locale=loc.value, lines=chunk, part=index, parts=len(chunks)
            )
            notes.append(parse_summary_json(await _ask(chat_model, messages, max_tokens, timeout_s), engine))
        if len(notes) == 1:
            return notes[0]
        messages = render_prompt(
            "meeting_summary_combine.j2",
            locale=loc.value,
            notes=[_fence_safe(n.to_json()) for n in notes],
        )
        return parse_summary_json(await _ask(chat_model, messages, max_tokens, timeout_s), engine)
    except (ValueError, ChatModelError, TimeoutError) as exc:
        log.warning("LLM summary failed (%s); using the offline summary", exc)
        return summarize_offline(segments)
