"""LLM trait extraction: about ten characteristic traits of how a star wrote, from sample messages.

The prompt lives in ``prompts/style_traits.j2``; the star's messages enter it only as JSON-escaped data.
A malformed or failed reply yields ``[]`` (traits are optional), logged for the operator.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence

from core.personas.kakao.model import KakaoMessage
from core.ports import ChatModel, ChatModelError, PromptMessage
from core.prompt_library import template

log = logging.getLogger(__name__)

MAX_SAMPLES = 120
MAX_CHARS = 300
MAX_TRAITS = 12
_FENCE = re.compile(r"```(?:json)?", re.IGNORECASE)


def sample_messages(messages: Sequence[KakaoMessage | str], limit: int = MAX_SAMPLES) -> list[str]:
    """Up to ``limit`` text messages spread evenly over the conversation, each cut to ``MAX_CHARS``."""
    texts = [
        m.text if isinstance(m, KakaoMessage) else m
        for m in messages
        if isinstance(m, str) or m.kind == "text"
    ]
    texts = [t.strip()[:MAX_CHARS] for t in texts if t.strip()]
    if len(texts) <= limit:
        return texts
    step = len(texts) / limit
    return [texts[int(i * step)] for i in range(limit)]


def build_prompt(name: str, messages: Sequence[KakaoMessage | str], locale: str) -> list[PromptMessage]:
    """The chat prompt asking for traits."""
    module = template("style_traits.j2").make_module()
    system = str(module.system(locale)).strip()  # type: ignore[attr-defined]
    user = str(module.user(name, sample_messages(messages))).strip()  # type: ignore[attr-defined]
    return [PromptMessage(role="system", content=system), PromptMessage(role="user", content=user)]


def parse_traits(reply: str) -> list[str]:
    """The JSON list of strings in a model reply, tolerating code fences and chatter around it."""
    text = _FENCE.sub("", reply)
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end <= start:
        raise ValueError("no JSON array in the reply")
    data = json.loads(text[start : end + 1])
    if not isinstance(data, list):
        raise ValueError("the reply is not a JSON array")
    traits: list[str] = []
    for item in data:
        if isinstance(item, str) and (trait := " ".join(item.split())[:200]) and trait not in traits:
            traits.append(trait)
    return traits[:MAX_TRAITS]


async def extract_traits(
    chat_model: ChatModel,
    messages: Sequence[KakaoMessage | str],
    locale: str,
    *,
    name: str | None = None,
    timeout_s: float = 90.0,
) -> list[str]:
    """Ask ``chat_model`` for ~10 traits of the star who wrote ``messages``; ``[]`` when it fails."""
    if name is None:
        name = next((m.author for m in messages if isinstance(m, KakaoMessage)), "")
    if not sample_messages(messages, limit=1):
        return []
    prompt = build_prompt(name, messages, locale)
    try:
        async with asyncio.timeout(timeout_s):
            completion = await chat_model.complete(prompt, max_tokens=600, temperature=0.3)
    except (ChatModelError, TimeoutError) as exc:
        log.warning("trait extraction failed: %s", exc)
        return []
    try:
        return parse_traits(completion.text)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        # The reply quotes the star's messages: its length, never its text, goes to the log.
        log.warning(
            "trait extraction: unreadable reply (%s, %d chars)", type(exc).__name__, len(completion.text)
        )
        return []
