"""A VOS app whose star replies come from a chat model over real HTTP (the local OpenAI-compatible server),
and a star made from an export, for the chat tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.demo import DEMO_EXPORT
from bot.runner import import_star, local_user
from bot.wiring import App, running_app
from core.backends.openai_chat import OpenAIChat, OpenAIChatOptions
from core.domain.identity import User
from core.domain.stars import Star
from core.personas.stars import NewStar
from tests.support.app import make_settings
from tests.support.openai_server import OpenAIServer


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    """The local OpenAI-compatible server: push replies, read back requests."""
    with OpenAIServer() as srv:
        yield srv


@pytest.fixture
async def llm_app(tmp_path: Path, server: OpenAIServer) -> AsyncIterator[App]:
    """The app with the ``openai`` chat model on ``server`` (one quick retry, a 2 s timeout)."""
    options = OpenAIChatOptions(
        base_url=server.base_url,
        api_key="sk-test",
        model="test-model",
        timeout_s=2,
        max_retries=1,
        backoff_base_s=0.01,
    )
    async with running_app(make_settings(tmp_path), chat_model=OpenAIChat(options)) as app:
        yield app


async def make_star(app: App, export: Path = DEMO_EXPORT, *, user_id: str = "u1") -> tuple[Star, User]:
    """Mom (엄마), made from ``export`` by ``user_id``."""
    user = await local_user(app, user_id)
    new = NewStar(owner_id=user.id, name="엄마", relation="어머니", participant="엄마")
    result = await import_star(app, new, export, consent_text="test", activate=False)
    return result.star, user
