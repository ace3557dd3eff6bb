"""A whole VOS app on a temporary SQLite database, and a scripted console to drive it."""

from __future__ import annotations

import functools
import io
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.console.adapter import ConsoleAdapter, ConsoleConfig
from bot.settings import Settings, load_settings
from bot.wiring import App, running_app
from core.command_table import Router
from core.domain.identity import Locale


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings isolated in ``tmp_path`` (no .env, no environment leakage of the data dir)."""
    return load_settings(env_file=None, data_dir=tmp_path / "data", **overrides)


class ScriptedConsole:
    """Type lines as a user and read back what VOS printed."""

    def __init__(
        self, app: App, user_id: str = "local", locale: Locale | None = Locale.KO, display_name: str = ""
    ) -> None:
        """``display_name``: a platform's name for the user (the console's own is its user id)."""
        self.out = io.StringIO()
        config = ConsoleConfig(user_id=user_id, display_name=display_name or user_id, locale=locale)
        self.adapter = ConsoleAdapter(app.engine, config, out=self.out)

    async def say(self, *lines: str) -> str:
        """Send lines; return only the output they produced."""
        start = self.out.tell()
        for line in lines:
            await self.adapter.send_line(line)
        self.out.seek(start)
        produced = self.out.read()
        self.out.seek(0, io.SEEK_END)
        return produced


def saved_path(out: str) -> Path:
    """The path of the first file the console says it saved (its line is in the session's language)."""
    found = re.search(r"(?:saved|저장됨): (.+?)(?: — |\n|$)", out)
    assert found, out
    return Path(found.group(1).strip())


@pytest.fixture
async def vos_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    """A migrated app with the offline engine."""
    monkeypatch.chdir(tmp_path)
    async with running_app(make_settings(tmp_path), use_settings_model=False) as app:
        yield app


@pytest.fixture
async def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[App]:
    """A migrated app with the offline engine on each database (SQLite; PostgreSQL when configured)."""
    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path, database_url=database_url)
    async with running_app(settings, use_settings_model=False) as built:
        yield built


@functools.cache
def declared_router() -> Router:
    """The router the real app declares (built once per test process; nothing is started or migrated)."""
    from bot.wiring import build_app

    data = Path(tempfile.mkdtemp(prefix="vos-router-"))
    return build_app(make_settings(data), use_settings_model=False).engine.router
