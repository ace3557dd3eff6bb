"""``Moderator`` over OpenAI's ``/v1/moderations``: is a message flagged in a self-harm category?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import openai

SELF_HARM = ("self-harm", "self-harm/intent", "self-harm/instructions", "self_harm", "self_harm_intent")


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAIModerationOptions:
    """Where the moderation endpoint is; ``api_key`` unwrapped by the caller."""

    api_key: str = field(default="", repr=False)
    base_url: str | None = None
    model: str = "omni-moderation-latest"
    timeout_s: float = 10.0


class OpenAIModeration:
    """Asks the moderation endpoint; any error propagates (the guard keeps its other verdicts)."""

    def __init__(self, options: OpenAIModerationOptions) -> None:
        self.options = options
        self._client = openai.AsyncOpenAI(
            api_key=options.api_key or "not-needed",
            base_url=options.base_url,
            timeout=options.timeout_s,
            max_retries=0,
        )

    async def self_harm(self, text: str) -> bool:
        """Whether any self-harm category is flagged."""
        response = await self._client.moderations.create(model=self.options.model, input=text)
        for result in response.results:
            categories: Any = result.categories
            flags = (
                categories.model_dump(by_alias=True)
                if hasattr(categories, "model_dump")
                else dict(categories)
            )
            if any(bool(flags.get(name)) for name in SELF_HARM):
                return True
        return False

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()
