"""A newcomer's mistakes: each one is a single clear line on the terminal and exit code 1, never a traceback,
and never the token it is about."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

ROOT = Path(__file__).resolve().parents[2]
TELEGRAM_TOKEN = "123456789:AAH-newcomer-SECRET-token-0123456789"
DISCORD_TOKEN = "MTAxMjM0NTY3ODkw.GabcDE.newcomer-SECRET-discord-token-value"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    for key in list(os.environ):
        if key.startswith("VOS_") and not key.startswith(("VOS_TEST_", "VOS_DATA_DIR")):
            monkeypatch.delenv(key)
    return {k: v for k, v in os.environ.items() if not k.startswith("VOS_TEST_")}


def invoke(*args: str) -> tuple[int, list[str]]:
    """Exit code and the non-empty lines of stdout and stderr."""
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def vos(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> tuple[int, list[str]]:
    """The real ``vos`` script in a subprocess (logging and all): exit code and its non-empty lines."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        timeout=180,
    )
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return result.returncode, lines


# --- the database -------------------------------------------------------------------------------------


def test_unreachable_database_is_one_line_for_vos_chat(env: dict[str, str], tmp_path: Path) -> None:
    env["VOS_DATABASE_URL"] = "postgresql+asyncpg://vos:hunter2-db-pass@127.0.0.1:1/vos"
    code, lines = vos(env, tmp_path, "chat", "엄마", "hi")
    assert (code, len(lines)) == (1, 1), lines
    assert lines[0].startswith("vos: VOS_DATABASE_URL: cannot open the database at ")
    assert "connection refused" in lines[0] and "hunter2-db-pass" not in lines[0]


@pytest.mark.parametrize("command", [["run"], ["admin", "stats"], ["meeting", "list"], ["db", "upgrade"]])
def test_unreachable_database_is_one_line_everywhere(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("VOS_DATABASE_URL", "postgresql+asyncpg://vos:hunter2-db-pass@127.0.0.1:1/vos")
    code, lines = invoke(*command)
    assert (code, len(lines)) == (1, 1), lines
    assert lines[0].startswith("vos: VOS_DATABASE_URL: cannot open the database")
    assert "hunter2-db-pass" not in lines[0]


def test_sqlite_file_in_a_missing_folder_is_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/nowhere/vos.db")
    code, lines = invoke("chat", "엄마", "hi")
    assert (code, len(lines)) == (1, 1), lines
    assert lines[0].endswith(f"(no folder {tmp_path}/nowhere)")


def test_missing_postgres_database_is_one_line(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    base = os.environ.get("VOS_TEST_DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        pytest.skip("VOS_TEST_DATABASE_URL is not a PostgreSQL server")
    monkeypatch.setenv("VOS_DATABASE_URL", base.rsplit("/", 1)[0] + "/vos_no_such_database")
    code, lines = invoke("chat", "엄마", "hi")
    assert (code, len(lines)) == (1, 1), lines
    assert 'database "vos_no_such_database" does not exist' in lines[0]


# --- tokens -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("VOS_TELEGRAM__TOKEN", " "),
        ("VOS_TELEGRAM__TOKEN", "123456789:short-SECRET"),
        ("VOS_TELEGRAM__TOKEN", f" {TELEGRAM_TOKEN}"),
        ("VOS_TELEGRAM__TOKEN", f"'{TELEGRAM_TOKEN}'"),
        ("VOS_TELEGRAM__TOKEN", "bot-SECRET-AAHnewcomer-token-0123456789abcdef"),
        ("VOS_DISCORD__TOKEN", "SECRET-one-part-only-discord-token-value"),
        ("VOS_DISCORD__TOKEN", "MTAx.Gab.SECRET discord token with spaces"),
    ],
)
def test_malformed_token_is_one_line_without_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(key, value)
    code, lines = invoke("run")
    assert (code, len(lines)) == (1, 1), lines
    assert lines[0].startswith(f"vos: {key}: not a ")
    assert "SECRET" not in lines[0]


def test_well_formed_tokens_are_accepted_and_an_empty_one_is_unset(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.settings import load_settings

    monkeypatch.setenv("VOS_TELEGRAM__TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("VOS_DISCORD__TOKEN", DISCORD_TOKEN)
    settings = load_settings()
    assert settings.telegram.token is not None and settings.discord.token is not None
    monkeypatch.setenv("VOS_TELEGRAM__TOKEN", "")
    assert load_settings().telegram.token is None
