"""Settings: env prefix, nesting, secrets hidden, one clear line for each wrong setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import SettingsError, load_settings
from tests.support.extras import need


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))


def test_nested_env_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_LLM__MODEL", "gpt-x")
    monkeypatch.setenv("VOS_LLM__API_KEY", "sk-secret-value")
    monkeypatch.setenv("VOS_TELEGRAM__TOKEN", "123:abcdefghijklmnopqrstuvwxyz0123456789")
    s = load_settings()
    assert s.llm.model == "gpt-x" and s.llm.api_key.get_secret_value() == "sk-secret-value"
    dumped = json.dumps(s.redacted())
    assert "sk-secret-value" not in dumped and "abcdefghijklmnopqrstuvwxyz" not in dumped


def test_chart_font_is_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().meetings.chart_font is None  # found among the installed fonts
    monkeypatch.setenv("VOS_MEETINGS__CHART_FONT", "/opt/fonts/NanumGothic.ttf")
    assert load_settings().meetings.chart_font == Path("/opt/fonts/NanumGothic.ttf")


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("VOS_DEFAULT_LOCALE=en\n")
    assert load_settings().default_locale.value == "en"


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("VOS_LLM__MODLE", "x", "VOS_LLM__MODLE"),
        ("VOS_NOPE", "1", "VOS_NOPE"),
        ("VOS_DATABASE_URL", "not a url", "VOS_DATABASE_URL"),
        ("VOS_DATABASE_URL", "mysql://u@h/db", "VOS_DATABASE_URL"),
        ("VOS_LIMITS__MAX_EXPORT_MB", "lots", "VOS_LIMITS__MAX_EXPORT_MB"),
    ],
)
def test_wrong_setting_names_itself(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, named: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith(named)
    assert "\n" not in str(err.value)


def test_unwritable_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("VOS_DATA_DIR", str(blocker / "sub"))
    with pytest.raises(SettingsError, match=r"^VOS_DATA_DIR"):
        load_settings()


def test_cli_prints_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_DATABASE_URL", "::nope::")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip().startswith("vos: VOS_DATABASE_URL")


def test_cli_config_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_TELEGRAM__TOKEN", "999:topsecret-topsecret-topsecret-topsecret")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert "topsecret" not in result.output and "**********" in result.output


def test_dotenv_keeps_other_tools_keys_out(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=secret\nMINIO_ROOT_USER=x\nVOS_DEFAULT_LOCALE=en\n")
    assert load_settings().default_locale.value == "en"
    (tmp_path / ".env").write_text("VOS_NOPE=1\n")
    with pytest.raises(SettingsError, match=r"^VOS_NOPE: unknown setting"):
        load_settings()


def test_telegram_transport_settings_reach_the_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    need("telegram")
    from types import SimpleNamespace

    from bot.runner import telegram_adapter

    monkeypatch.setenv("VOS_TELEGRAM__TOKEN", "123:abcdefghijklmnopqrstuvwxyz0123456789")
    monkeypatch.setenv("VOS_TELEGRAM__HTTP_CLIENT", "httpx")
    monkeypatch.setenv("VOS_TELEGRAM__POLL_INTERVAL_S", "0.01")
    from tests.support.app import declared_router

    router = declared_router()
    app = SimpleNamespace(engine=SimpleNamespace(router=router))
    adapter = telegram_adapter(app, load_settings())  # type: ignore[arg-type]
    assert (adapter.config.http_client, adapter.config.poll_interval_s) == ("httpx", 0.01)
    assert adapter.config.menu == router.menu()  # the command menu is the engine's declared table
    monkeypatch.setenv("VOS_TELEGRAM__HTTP_CLIENT", "requests")
    with pytest.raises(SettingsError, match="HTTP_CLIENT"):
        load_settings()
