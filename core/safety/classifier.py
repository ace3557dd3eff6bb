"""An optional LLM second opinion for borderline rule scores.

The prompt templates live in ``prompts/`` (Jinja2, StrictUndefined). Each template sets a ``system`` block
(the instructions) and its body is the user message, which carries the text under test fenced as data by
``quote_as_data``. The model answers with a JSON object ``{"label": ..., "reasons": [...]}``; anything
else, a timeout or a backend error yields ``None`` so the caller keeps the rule verdict.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass

from core.ports import ChatModel, PromptMessage
from core.prompt_library import render_messages
from core.safety.injection import quote_as_data

log = logging.getLogger(__name__)

_JSON_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassifierAnswer:
    """What the model said: a label from the template's label set and optional reason codes."""

    label: str
    reasons: tuple[str, ...] = ()


def render_classifier_prompt(template: str, *, text: str, role: str) -> list[PromptMessage]:
    """Render ``template`` into a system message and a user message holding ``text`` as data."""
    return render_messages(template, data=quote_as_data(text, "message"), role=role)


def parse_answer(raw: str, labels: frozenset[str]) -> ClassifierAnswer | None:
    """Read the model's JSON answer; ``None`` when it is not one of ``labels``."""
    for match in _JSON_OBJECT.finditer(raw):
        try:
            obj = json.loads(match.group())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and str(obj.get("label", "")).lower() in labels:
            reasons = obj.get("reasons") or []
            codes = tuple(str(r) for r in reasons if isinstance(r, str)) if isinstance(reasons, list) else ()
            return ClassifierAnswer(label=str(obj["label"]).lower(), reasons=codes)
    word = raw.strip().split(maxsplit=1)[0].strip(".:,\"'").lower() if raw.strip() else ""
    return ClassifierAnswer(label=word) if word in labels else None


async def classify(
    model: ChatModel,
    template: str,
    *,
    text: str,
    role: str,
    labels: frozenset[str],
    timeout_s: float = 15.0,
) -> ClassifierAnswer | None:
    """Ask ``model`` to label ``text``; ``None`` on any failure, so rules stay the fallback."""
    messages = render_classifier_prompt(template, text=text, role=role)
    try:
        async with asyncio.timeout(timeout_s):
            completion = await model.complete(messages, max_tokens=80, temperature=0.0)
    except Exception as exc:  # a classifier outage must never take the chat down
        log.warning("safety classifier %s failed: %s", template, type(exc).__name__)
        return None
    answer = parse_answer(completion.text, labels)
    if answer is None:
        log.warning("safety classifier %s gave an unreadable answer", template)
    return answer
