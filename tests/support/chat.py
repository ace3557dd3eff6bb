"""A deterministic ChatModel for tests: it answers from a script and records the prompts it was given."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from core.ports import ChatCompletion, PromptMessage


class ScriptedChatModel:
    """``ChatModel`` answering from ``script``: one text for every call, a list taken in order, or an
    exception raised on every call; ``delay`` seconds before each answer (for timeout tests)."""

    name = "scripted"

    def __init__(self, script: str | Sequence[str] | BaseException = "", *, delay: float = 0.0) -> None:
        self.script = list(script) if not isinstance(script, str | BaseException) else script
        self.delay = delay
        self.prompts: list[Sequence[PromptMessage]] = []

    async def complete(
        self, messages: Sequence[PromptMessage], *, max_tokens: int = 512, temperature: float = 0.8
    ) -> ChatCompletion:
        """The next scripted answer (or the scripted error)."""
        self.prompts.append(messages)
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(self.script, BaseException):
            raise self.script
        text = self.script if isinstance(self.script, str) else self.script.pop(0)
        return ChatCompletion(text=text, model=self.name)

    async def stream(
        self, messages: Sequence[PromptMessage], *, max_tokens: int = 512, temperature: float = 0.8
    ) -> AsyncIterator[str]:
        """The whole answer as one chunk."""
        yield (await self.complete(messages, max_tokens=max_tokens, temperature=temperature)).text

    def count_tokens(self, text: str) -> int:
        """One token a word (chunking tests size their chunks in words)."""
        return len(text.split())

    async def aclose(self) -> None:
        """Nothing to release."""
