"""Logs carry ids and counts, never what people wrote: a scripted console session with a marker in every
kind of user text leaves the marker in no log record, even at DEBUG; database errors never quote bound values;
HTTP clients do not log request URLs (a Telegram URL holds the bot token)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bot.cli import app, setup_logging
from bot.demo import DEMO_EXPORT
from bot.settings import load_settings
from core.storage.db import Database

MARKER = "qx7vmarker"


def test_a_scripted_session_logs_no_user_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOS_LOG_LEVEL", "DEBUG")
    lines = [
        f"오늘 {MARKER} 먹었어?",  # a chat turn, with memory search
        f"엄마 {MARKER} 계좌 비밀번호 알려줘",  # blocked by the scam guard
        f"죽고 싶어 {MARKER}",  # the crisis hand-off
        f"/ask {MARKER} 언제야?",  # meeting Q&A
        f"/memories {MARKER}",  # voice memories search
        f"/language {MARKER}",
        f"/{MARKER}",  # an unknown command
        f"/file {tmp_path / MARKER}.txt",  # a mistyped path
        "/new",
        f"/file {DEMO_EXPORT}",
        f"{MARKER}",  # answers in the create-a-star dialog
        f"{MARKER} 이름",
        "/cancel",
        "/listen",
        "/forget_me",
        "1",
    ]
    script = tmp_path / "session.txt"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.DEBUG):
        result = CliRunner().invoke(app, ["console", "--script", str(script)])
    assert result.exit_code == 0, result.output
    assert MARKER in result.output  # the session did see the marker...
    assert any(r.name.startswith("core.") for r in caplog.records)  # ...and its logs were captured
    leaked = [r for r in caplog.records if MARKER in r.getMessage() or MARKER in (r.exc_text or "")]
    assert leaked == [], [(r.name, r.getMessage()[:200]) for r in leaked]


async def test_database_errors_never_quote_bound_values(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE t (x TEXT NOT NULL UNIQUE)"))
            await session.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": MARKER})
        with pytest.raises(Exception) as failed:
            async with db.write() as session:
                await session.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": MARKER})
        assert "UNIQUE" in str(failed.value) and MARKER not in str(failed.value)
    finally:
        await db.dispose()


def test_http_clients_never_log_request_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_LOG_LEVEL", "DEBUG")
    setup_logging(load_settings(env_file=None, data_dir=tmp_path))
    for name in ("httpx", "httpcore", "telegram.ext", "openai"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
