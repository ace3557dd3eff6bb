"""`vos worker` refuses to start without the Redis backend, and the job settings are validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import SettingsError, load_settings


def test_worker_needs_the_redis_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "VOS_JOBS__BACKEND" in result.output


def test_job_settings_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_JOBS__QUEUE", "bad queue name")
    with pytest.raises(SettingsError, match="VOS_JOBS__QUEUE"):
        load_settings(env_file=None, data_dir=tmp_path)
    monkeypatch.setenv("VOS_JOBS__QUEUE", "family-1")
    monkeypatch.setenv("VOS_JOBS__LEASE_S", "5")
    settings = load_settings(env_file=None, data_dir=tmp_path)
    assert settings.jobs.queue == "family-1" and settings.jobs.lease_s == 5.0
