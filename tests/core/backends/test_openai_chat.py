"""OpenAIChat against a real local OpenAI-compatible HTTP server (tests/support/openai_server.py)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from core.backends.openai_chat import OpenAIChat, OpenAIChatError, OpenAIChatOptions, retry_after_s
from core.ports import ChatModel, ChatModelError, ChatUsage, PromptMessage
from tests.support.openai_server import Drop, Malformed, OpenAIServer, Reply, Slow, Stall, Status

PROMPT = (
    PromptMessage(role="system", content="You are 엄마."),
    PromptMessage(role="user", content="엄마 뭐해?"),
)


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


def _options(server: OpenAIServer, **overrides: object) -> OpenAIChatOptions:
    values: dict[str, object] = {
        "base_url": server.base_url,
        "api_key": "sk-test-123",
        "model": "test-model",
        "timeout_s": 2.0,
        "max_retries": 3,
        "backoff_base_s": 0.01,
    }
    values.update(overrides)
    return OpenAIChatOptions(**values)  # type: ignore[arg-type]


@pytest.fixture
async def chat(server: OpenAIServer) -> AsyncIterator[OpenAIChat]:
    model = OpenAIChat(_options(server), rng=random.Random(1))
    yield model
    await model.aclose()


async def test_complete_returns_text_usage_and_sends_prompt_and_auth(
    server: OpenAIServer, chat: OpenAIChat
) -> None:
    server.push(Reply("밥 먹었어\n\n오늘 춥더라", prompt_tokens=40, completion_tokens=12))

    result = await chat.complete(PROMPT, max_tokens=77, temperature=0.5)

    assert isinstance(chat, ChatModel)
    assert result.text == "밥 먹었어\n\n오늘 춥더라"
    assert result.model == "test-model"
    assert result.usage == ChatUsage(prompt_tokens=40, completion_tokens=12)
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-123"
    assert request.body["model"] == "test-model"
    assert request.body["max_tokens"] == 77
    assert request.body["temperature"] == 0.5
    assert request.messages == [
        {"role": "system", "content": "You are 엄마."},
        {"role": "user", "content": "엄마 뭐해?"},
    ]


async def test_usage_accumulates_across_calls_and_streams(server: OpenAIServer, chat: OpenAIChat) -> None:
    server.push(
        Reply("하나", prompt_tokens=10, completion_tokens=2),
        Reply("둘", prompt_tokens=20, completion_tokens=3),
    )
    await chat.complete(PROMPT)
    chunks = [c async for c in chat.stream(PROMPT)]

    assert "".join(chunks) == "둘"
    assert chat.last_usage == ChatUsage(prompt_tokens=20, completion_tokens=3)
    assert chat.usage_total == ChatUsage(prompt_tokens=30, completion_tokens=5)


async def test_stream_yields_chunks_in_order_and_asks_for_usage(
    server: OpenAIServer, chat: OpenAIChat
) -> None:
    text = "그래 그래 ㅎㅎ\n\n조심히 다녀와"
    server.push(Reply(text, chunk_chars=2, prompt_tokens=33, completion_tokens=8))

    chunks = [c async for c in chat.stream(PROMPT, max_tokens=50)]

    assert len(chunks) == (len(text) + 1) // 2
    assert "".join(chunks) == text
    assert chat.last_usage == ChatUsage(prompt_tokens=33, completion_tokens=8)
    [request] = server.requests
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


async def test_extra_headers_and_max_completion_tokens_field(server: OpenAIServer) -> None:
    model = OpenAIChat(
        _options(server, extra_headers={"X-Tenant": "vos"}, max_tokens_field="max_completion_tokens")
    )
    server.push(Reply("응"))
    try:
        await model.complete(PROMPT, max_tokens=64)
    finally:
        await model.aclose()
    [request] = server.requests
    assert request.headers["x-tenant"] == "vos"
    assert request.body["max_completion_tokens"] == 64
    assert "max_tokens" not in request.body


async def test_429_with_retry_after_is_honoured_then_succeeds(
    server: OpenAIServer, chat: OpenAIChat, caplog: pytest.LogCaptureFixture
) -> None:
    server.push(Status(429, "slow down", headers={"Retry-After": "1"}), Reply("이제 됐다"))

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="core.backends.openai_chat"):
        result = await chat.complete(PROMPT)
    elapsed = time.monotonic() - started

    assert result.text == "이제 됐다"
    assert len(server.requests) == 2
    assert elapsed >= 0.95  # waited as the server asked, not the 10 ms backoff
    assert chat.requests == 2
    assert any("rate_limited" in r.getMessage() and "retry 1 of 3" in r.getMessage() for r in caplog.records)


async def test_429_asking_for_too_long_a_wait_fails_at_once(server: OpenAIServer, chat: OpenAIChat) -> None:
    server.push(Status(429, headers={"Retry-After": "3600"}), Reply("never"))

    with pytest.raises(OpenAIChatError) as info:
        await chat.complete(PROMPT)

    assert info.value.reason == "rate_limited"
    assert len(server.requests) == 1


async def test_5xx_then_success_backs_off_exponentially(server: OpenAIServer, chat: OpenAIChat) -> None:
    server.push(Status(500), Status(503), Reply("괜찮아"))

    result = await chat.complete(PROMPT)

    assert result.text == "괜찮아"
    assert len(server.requests) == 3


async def test_persistent_5xx_raises_chat_model_error_after_retries(
    server: OpenAIServer, chat: OpenAIChat
) -> None:
    server.push(*[Status(502, "bad gateway")] * 4, Reply("unused"))

    with pytest.raises(ChatModelError) as info:
        await chat.complete(PROMPT)

    assert isinstance(info.value, OpenAIChatError)
    assert info.value.reason == "server_error"
    assert info.value.status == 502
    assert str(info.value).startswith("server_error")
    assert len(server.requests) == 4  # one try and max_retries=3 retries
    assert server.pending == 1


async def test_timeout_raises_chat_model_error_without_retrying(server: OpenAIServer) -> None:
    model = OpenAIChat(_options(server, timeout_s=0.3))
    server.push(Slow(3.0, Reply("too late")), Reply("unused"))
    started = time.monotonic()
    try:
        with pytest.raises(ChatModelError) as info:
            await model.complete(PROMPT)
    finally:
        await model.aclose()

    assert isinstance(info.value, OpenAIChatError)
    assert info.value.reason == "timeout"
    assert time.monotonic() - started < 2.0
    assert len(server.requests) == 1


async def test_stream_stalling_mid_way_raises_after_the_chunks_it_got(server: OpenAIServer) -> None:
    model = OpenAIChat(_options(server, timeout_s=0.3))
    server.push(Stall(Reply("abcdefghij", chunk_chars=2), after_chunks=2, delay_s=3.0))
    received: list[str] = []

    async def consume() -> None:
        async for chunk in model.stream(PROMPT):
            received.append(chunk)

    try:
        with pytest.raises(ChatModelError):
            await consume()
    finally:
        await model.aclose()

    assert received == ["ab", "cd"]


async def test_stream_retries_a_failure_before_the_first_chunk(
    server: OpenAIServer, chat: OpenAIChat
) -> None:
    server.push(Status(503), Reply("다시 왔어"))

    chunks = [c async for c in chat.stream(PROMPT)]

    assert "".join(chunks) == "다시 왔어"
    assert len(server.requests) == 2


async def test_dropped_connection_is_retried(server: OpenAIServer, chat: OpenAIChat) -> None:
    server.push(Drop(), Reply("연결됐네"))

    result = await chat.complete(PROMPT)

    assert result.text == "연결됐네"
    assert len(server.requests) == 2


async def test_malformed_answer_raises_chat_model_error(server: OpenAIServer, chat: OpenAIChat) -> None:
    server.push(Malformed(), Reply("unused"))

    with pytest.raises(OpenAIChatError) as info:
        await chat.complete(PROMPT)

    assert info.value.reason == "malformed"
    assert len(server.requests) == 1


async def test_auth_error_is_not_retried(server: OpenAIServer, chat: OpenAIChat) -> None:
    server.push(Status(401, "bad key"), Reply("unused"))

    with pytest.raises(OpenAIChatError) as info:
        await chat.complete(PROMPT)

    assert info.value.reason == "auth"
    assert len(server.requests) == 1


async def test_unreachable_server_is_a_connection_error() -> None:
    with OpenAIServer() as gone:
        url = gone.base_url
    model = OpenAIChat(OpenAIChatOptions(base_url=url, model="m", max_retries=1, backoff_base_s=0.01))
    try:
        with pytest.raises(OpenAIChatError) as info:
            await model.complete(PROMPT)
    finally:
        await model.aclose()
    assert info.value.reason == "connection"


def test_retry_after_parsing() -> None:
    assert retry_after_s({"Retry-After": "2"}) == 2.0
    assert retry_after_s({"retry-after-ms": "250"}) == 0.25
    assert retry_after_s({"Retry-After": "Wed, 21 Oct 2015 07:28:05 GMT"}, now=1445412480.0) == 5.0
    assert retry_after_s({"Retry-After": "soon"}) is None
    assert retry_after_s({}) is None


def test_options_repr_hides_the_key() -> None:
    assert "sk-secret" not in repr(OpenAIChatOptions(model="m", api_key="sk-secret"))


def test_count_tokens_is_conservative(chat: OpenAIChat) -> None:
    assert chat.count_tokens("안녕하세요") >= 5
    assert chat.count_tokens("") == 0
