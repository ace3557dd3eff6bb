"""``ChatModel`` over any OpenAI-compatible endpoint: OpenAI, Azure, vLLM, llama.cpp, Ollama, LM Studio.

The SDK's own retries are switched off (``max_retries=0``): this module retries itself, so every retry is
logged, honours ``Retry-After``, and is testable against a local server. Retried: 429, 408, 409, 5xx and
connection errors, with exponential backoff and jitter. Not retried: timeouts (the user is already waiting),
auth and request errors, malformed answers. Every failure surfaces as ``OpenAIChatError`` (a
``ChatModelError``) whose ``reason`` is one short word the chat service can map to a gentle message.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import openai

from core.personas.tokens import estimate_tokens
from core.ports import ChatCompletion, ChatModelError, ChatUsage, PromptMessage

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_RETRYABLE_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAIChatOptions:
    """Where and how to reach the model. ``api_key`` is a plain string: the caller unwraps its SecretStr."""

    model: str
    api_key: str = field(default="", repr=False)
    base_url: str | None = None
    timeout_s: float = 60.0
    """Per attempt for ``complete``; until the first byte and between chunks for ``stream``."""
    connect_timeout_s: float = 10.0
    max_retries: int = 3
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    """Longest wait between attempts; a server asking for a longer ``Retry-After`` fails the call at once."""
    context_tokens: int = 8192
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    """Newer OpenAI models want ``max_completion_tokens``; most compatible servers want ``max_tokens``."""
    stream_usage: bool = True
    """Ask for usage in the last stream chunk (``stream_options.include_usage``)."""


class OpenAIChatError(ChatModelError):
    """A chat completion failed; ``reason`` is one of: timeout, rate_limited, server_error, connection, auth,
    not_found, bad_request, malformed, http_error."""

    def __init__(
        self, reason: str, detail: str, *, status: int | None = None, retryable: bool = False
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.status = status
        self.retryable = retryable


def retry_after_s(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds the server asks to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or HTTP date."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify(exc: BaseException) -> OpenAIChatError:
    """Map an SDK or timeout exception to an ``OpenAIChatError`` with a reason and whether to retry."""
    if isinstance(exc, OpenAIChatError):
        return exc
    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return OpenAIChatError("timeout", "the model did not answer in time")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in _RETRYABLE_STATUS or status >= 500
        if status == 429:
            reason = "rate_limited"
        elif status >= 500:
            reason = "server_error"
        elif status in (401, 403):
            reason = "auth"
        elif status == 404:
            reason = "not_found"
        elif status in (400, 413, 422):
            reason = "bad_request"
        else:
            reason = "http_error"
        return OpenAIChatError(reason, f"HTTP {status}", status=status, retryable=retryable)
    if isinstance(exc, openai.APIConnectionError):
        return OpenAIChatError("connection", "could not reach the model server", retryable=True)
    return OpenAIChatError("malformed", f"unexpected answer ({type(exc).__name__})")


def _wire_messages(messages: Sequence[PromptMessage]) -> list[Any]:
    return [{"role": m.role, "content": m.content} for m in messages]


class OpenAIChat:
    """A chat model behind the OpenAI chat-completions API."""

    name = "openai"

    def __init__(self, options: OpenAIChatOptions, *, rng: random.Random | None = None) -> None:
        self.options = options
        self.model = options.model
        self.context_tokens = options.context_tokens
        self.usage_total = ChatUsage()
        """Tokens used by every completion since this backend was made."""
        self.last_usage = ChatUsage()
        self.requests = 0
        self._rng = rng or random.Random()
        self._client = openai.AsyncOpenAI(
            api_key=options.api_key or "not-needed",  # local servers take any key; the SDK insists on one
            base_url=options.base_url,
            timeout=openai.Timeout(options.timeout_s, connect=options.connect_timeout_s),
            max_retries=0,
            default_headers=dict(options.extra_headers) or None,
        )

    def count_tokens(self, text: str) -> int:
        """A conservative estimate: remote models do not expose their tokenizer."""
        return estimate_tokens(text)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    def _record(self, usage: ChatUsage) -> None:
        self.last_usage = usage
        self.usage_total = ChatUsage(
            prompt_tokens=self.usage_total.prompt_tokens + usage.prompt_tokens,
            completion_tokens=self.usage_total.completion_tokens + usage.completion_tokens,
        )

    def _backoff_s(self, attempt: int, exc: BaseException) -> float:
        headers = exc.response.headers if isinstance(exc, openai.APIStatusError) else None
        asked = retry_after_s(headers)
        if asked is not None:
            if asked > self.options.backoff_max_s:
                raise OpenAIChatError("rate_limited", f"server asks to wait {asked:.0f} s") from exc
            return asked
        delay = min(self.options.backoff_max_s, self.options.backoff_base_s * 2.0**attempt)
        return delay * (0.5 + self._rng.random() / 2)  # "equal jitter": spreads clients that failed together

    async def _with_retries(self, call: Callable[[], Awaitable[_T]]) -> _T:
        attempt = 0
        while True:
            self.requests += 1
            try:
                async with asyncio.timeout(self.options.timeout_s):
                    return await call()
            except (openai.OpenAIError, TimeoutError, ValueError) as exc:
                error = classify(exc)
                if not error.retryable or attempt >= self.options.max_retries:
                    log.warning("chat model %s failed: %s", self.model, error)
                    raise error from exc
                delay = self._backoff_s(attempt, exc)
                attempt += 1
                log.warning(
                    "chat model %s: %s; retry %d of %d in %.2f s",
                    self.model,
                    error,
                    attempt,
                    self.options.max_retries,
                    delay,
                )
                await asyncio.sleep(delay)

    def _request(
        self, messages: Sequence[PromptMessage], max_tokens: int, temperature: float, *, stream: bool
    ) -> dict[str, Any]:
        # A plain dict keeps optional fields absent (not null), which strict compatible servers require.
        request: dict[str, Any] = {
            "model": self.model,
            "messages": _wire_messages(messages),
            "temperature": temperature,
            self.options.max_tokens_field: max_tokens,
            "stream": stream,
        }
        if stream and self.options.stream_usage:
            request["stream_options"] = {"include_usage": True}
        return request

    async def complete(
        self, messages: Sequence[PromptMessage], *, max_tokens: int = 512, temperature: float = 0.8
    ) -> ChatCompletion:
        """One completion; retried on rate limits, server and connection errors."""

        async def call() -> Any:
            request = self._request(messages, max_tokens, temperature, stream=False)
            return await self._client.chat.completions.create(**request)

        response = await self._with_retries(call)
        choices = getattr(response, "choices", None)
        if not choices:
            raise OpenAIChatError("malformed", "the answer has no choices")
        text = choices[0].message.content or ""
        reported = getattr(response, "usage", None)
        usage = (
            ChatUsage(
                prompt_tokens=reported.prompt_tokens or 0, completion_tokens=reported.completion_tokens or 0
            )
            if reported
            else ChatUsage()
        )
        self._record(usage)
        return ChatCompletion(text=text, model=response.model or self.model, usage=usage)

    async def stream(
        self, messages: Sequence[PromptMessage], *, max_tokens: int = 512, temperature: float = 0.8
    ) -> AsyncIterator[str]:
        """Yield text as it arrives. Failures before the first chunk are retried; later ones raise."""

        async def call() -> Any:
            request = self._request(messages, max_tokens, temperature, stream=True)
            return await self._client.chat.completions.create(**request)

        response = await self._with_retries(call)
        usage = ChatUsage()
        chunks = response.__aiter__()
        try:
            while True:
                try:
                    async with asyncio.timeout(self.options.timeout_s):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                if chunk.usage:
                    usage = ChatUsage(
                        prompt_tokens=chunk.usage.prompt_tokens or 0,
                        completion_tokens=chunk.usage.completion_tokens or 0,
                    )
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        except (openai.OpenAIError, TimeoutError, ValueError) as exc:
            error = classify(exc)
            log.warning("chat model %s: stream broke: %s", self.model, error)
            raise error from exc
        finally:
            await response.close()
        self._record(usage)
