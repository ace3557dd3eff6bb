"""Fixtures for the Discord adapter tests: the recorded HTTP seam, a never-connecting client, an adapter."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.extras import need

with warnings.catch_warnings():
    # discord.py 2.7 imports the stdlib ``audioop`` (deprecated in 3.11, gone in 3.13; discord.py falls back
    # to ``audioop-lts`` there). Our suite turns warnings into errors, so the first import is made quiet here.
    warnings.simplefilter("ignore", DeprecationWarning)
    discord = need("discord")
    need("davey")
    need("nacl")

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.config import DiscordAdapterConfig
from tests.adapters.discord.fakes import FakeDiscordHttp, MemoryOptOuts, make_client
from tests.support.app import declared_router

TOKEN = "MTAx.fake-token.discord-secret-value"


@pytest.fixture
def http(monkeypatch: pytest.MonkeyPatch) -> FakeDiscordHttp:
    return FakeDiscordHttp(monkeypatch)


@pytest.fixture
def client() -> discord.Client:
    return make_client()


@pytest.fixture
def make_adapter(tmp_path: Path, client: discord.Client) -> Callable[..., DiscordAdapter]:
    def make(engine: Any, **kwargs: Any) -> DiscordAdapter:
        config_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in DiscordAdapterConfig.__dataclass_fields__}
        config_kw.setdefault("commands", declared_router().items)
        config = DiscordAdapterConfig(token=TOKEN, data_dir=tmp_path / "data", **config_kw)
        kwargs.setdefault("optouts", MemoryOptOuts())
        adapter = DiscordAdapter(config, engine, client=client, **kwargs)
        adapter.max_typing_pause_s = 0.0
        return adapter

    return make
