"""A newcomer's mistakes: each one is a single clear line on the terminal and exit code 1, never a traceback,
and never the token it is about."""

from __future__ import annotations

import asyncio
import importlib.machinery
import json
import os
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
from aiohttp import web
from typer.testing import CliRunner

from bot.cli import app
from core.extras import install_hint
from tests.support.extras import need

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


@pytest.mark.parametrize(
    "command", [["run"], ["admin", "stats"], ["meeting", "list"], ["db", "upgrade"], ["db", "check"]]
)
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


async def test_rejected_telegram_token_is_one_line_without_it(env: dict[str, str], tmp_path: Path) -> None:
    need("telegram")
    from tests.adapters.telegram.botapi_server import BotApiServer

    async with BotApiServer(token="42:another-bots-token") as server:  # so our token is rejected
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env={
                **env,
                "PYTHONPATH": str(ROOT),
                "VOS_LOG_LEVEL": "WARNING",
                "VOS_TELEGRAM__TOKEN": TELEGRAM_TOKEN,
                "VOS_TELEGRAM__BASE_URL": server.base_url,
            },
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    lines = [line for line in out.decode().splitlines() if line.strip()]
    assert (proc.returncode, len(lines)) == (1, 1), lines
    assert lines[0] == "vos: VOS_TELEGRAM__TOKEN: Telegram rejected the token (copy it again from @BotFather)"


async def _discord_rejecting_logins() -> tuple[web.AppRunner, str]:
    async def unauthorized(_request: web.Request) -> web.Response:
        return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)

    server = web.Application()
    server.router.add_route("*", "/{tail:.*}", unauthorized)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/api/v10"


def test_rejected_discord_token_is_one_line_without_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    need("discord")
    from discord.http import Route

    loop = asyncio.new_event_loop()
    runner, base = loop.run_until_complete(_discord_rejecting_logins())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(Route, "BASE", base)
        monkeypatch.setenv("VOS_DISCORD__TOKEN", DISCORD_TOKEN)
        code, lines = invoke("run")
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    assert (code, len(lines)) == (1, 1), lines
    assert lines[0].startswith("vos: VOS_DISCORD__TOKEN: Discord rejected the token")
    assert "SECRET" not in lines[0]


# --- extras and models --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "module", "extra"),
    [
        ("VOS_TELEGRAM__TOKEN", TELEGRAM_TOKEN, "adapters.telegram.config", "telegram"),
        ("VOS_DISCORD__TOKEN", DISCORD_TOKEN, "adapters.discord.adapter", "discord"),
    ],
)
def test_token_without_its_extra_is_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, key: str, value: str, module: str, extra: str
) -> None:
    monkeypatch.setenv(key, value)
    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    code, lines = invoke("run")
    assert (code, len(lines)) == (1, 1), lines
    assert lines[0].startswith(f"vos: {key} is set but ") and lines[0].endswith(install_hint(extra))
    assert "SECRET" not in lines[0]


def _wav(path: Path) -> Path:
    """Two seconds of a tone (not silence: silence is its own clear line)."""
    import math
    import struct
    import wave

    samples = (int(8000 * math.sin(i * 0.06)) for i in range(32000))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"".join(struct.pack("<h", x) for x in samples))
    return path


def test_transcribe_without_the_speech_extra_is_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    code, lines = invoke("transcribe", str(_wav(tmp_path / "a.wav")), "--speakers", "1")
    assert (code, len(lines)) == (1, 1), lines
    assert lines[0].startswith("vos: ") and "speech" in lines[0]


def test_missing_model_directory_is_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    need("faster_whisper")
    monkeypatch.setenv("VOS_STT__MODEL", str(tmp_path / "no-such-model"))
    code, lines = invoke("transcribe", str(_wav(tmp_path / "a.wav")), "--speakers", "1")
    assert (code, len(lines)) == (1, 1), lines
    assert lines[0] == f"vos: VOS_STT__MODEL: no Whisper model directory at {tmp_path / 'no-such-model'}"


# --- vos config and vos doctor ------------------------------------------------------------------------


def test_config_masks_every_secret_and_url_credential(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "VOS_JOBS__REDIS_URL": "redis://:redis-PASS-1@cache:6379/0",
        "VOS_DATABASE_URL": "postgresql+asyncpg://vos:db-PASS-2@db:5432/vos",
        "VOS_LLM__BASE_URL": "https://llm-user:llm-PASS-3@llm.example.org/v1?api_key=llm-KEY-4",
        "VOS_LLM__API_KEY": "sk-PASS-5",
        "VOS_BLOBS__ENDPOINT_URL": "http://minio-PASS-6@minio:9000",
        "VOS_BLOBS__ACCESS_KEY": "s3-access-PASS-7",
        "VOS_BLOBS__SECRET_KEY": "s3-secret-PASS-8",
        "VOS_TELEGRAM__TOKEN": TELEGRAM_TOKEN,
        "VOS_TELEGRAM__WEBHOOK_URL": f"https://bot.example.org/{TELEGRAM_TOKEN}",
        "VOS_DIARIZER__HF_TOKEN": "hf_PASS-9",
    }
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    code, out = invoke("config")
    text = "\n".join(out)
    assert code == 0, text
    assert "PASS" not in text and "SECRET" not in text and "KEY-4" not in text
    assert "redis://:***@cache:6379/0" in text
    assert "postgresql+asyncpg://vos:***@db:5432/vos" in text
    assert "https://llm-user:***@llm.example.org/v1?api_key=***" in text


def test_doctor_calls_a_missing_model_directory_missing(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOS_STT__MODEL", str(tmp_path / "no-such-model"))
    code, lines = invoke("doctor")
    (stt,) = [line for line in lines if "faster_whisper" in line]
    assert "missing" in stt and "available" not in stt
    assert code == 0  # transcription is optional: the bot still runs


def test_doctor_fails_when_the_database_is_unreachable(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOS_DATABASE_URL", "postgresql+asyncpg://vos:hunter2-db-pass@127.0.0.1:1/vos")
    code, lines = invoke("doctor")
    assert code == 1
    assert [line for line in lines if line.startswith("Database:")] == [
        "Database: postgresql+asyncpg://vos:***@127.0.0.1:1/vos — unreachable (connection refused)"
    ]
    assert lines[-1] == "vos: something required is broken: the database"


@pytest.mark.parametrize("command", ["run", "worker"])
def test_unreachable_redis_is_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    need("redis")
    monkeypatch.setenv("VOS_JOBS__BACKEND", "redis")
    monkeypatch.setenv("VOS_JOBS__REDIS_URL", "redis://:redis-SECRET@127.0.0.1:1/0")
    code, lines = invoke(command)
    assert (code, lines) == (1, ["vos: VOS_JOBS__REDIS_URL: cannot reach Redis (connection refused)"])


def test_invalid_utf8_in_a_jsonl_file_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"text": "hi"}\n\xff\n')
    code, lines = invoke("safety", "check", "--jsonl", str(bad))
    assert (code, lines) == (1, [f"vos: {bad}: not UTF-8 text; save it as UTF-8 and try again"])


def test_doctor_calls_an_uncached_model_name_missing(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    need("faster_whisper")
    monkeypatch.setenv("VOS_STT__MODEL", "large-v3")  # offline, and not in the cache
    code, lines = invoke("doctor")
    (stt,) = [line for line in lines if "faster_whisper" in line]
    assert stt.split(None, 2)[2].startswith("missing model (large-v3 is not cached")
    assert code == 0  # transcription is optional


def test_meeting_import_without_the_speech_extra_is_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    code, lines = invoke("meeting", "import", str(_wav(tmp_path / "a.wav")))
    assert (code, len(lines)) == (1, 1), lines
    assert lines[0].startswith("vos: ") and "speech" in lines[0]
    code, lines = invoke("meeting", "list", "--json")
    assert (code, lines) == (0, ["[]"])  # nothing was stored


def test_doctor_names_the_extra_of_each_voice_clone_missing_here(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "qwen_tts", None)
    monkeypatch.setitem(sys.modules, "chatterbox", None)
    code, lines = invoke("doctor")
    qwen = [line for line in lines if line.split()[1:2] == ["qwen3"]]
    chatterbox = [line for line in lines if line.split()[1:2] == ["chatterbox"]]
    assert qwen == [f"  {'synthesizer':<15} {'qwen3':<22} missing extra: {install_hint('qwen')}"]
    assert chatterbox == [
        f"  {'synthesizer':<15} {'chatterbox':<22} missing extra: {install_hint('chatterbox')}"
    ]
    assert code == 0  # espeak is the configured synthesizer: a clone is optional
    monkeypatch.setenv("VOS_TTS__BACKEND", "chatterbox")
    code, lines = invoke("doctor")
    assert code == 1 and lines[-1].startswith("vos: something required is broken: VOS_TTS__BACKEND (missing")


@pytest.mark.parametrize("backend", ["qwen3", "chatterbox"])
def test_doctor_tells_whether_a_voice_clone_runs_offline(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, backend: str
) -> None:
    module = "qwen_tts" if backend == "qwen3" else "chatterbox"
    installed = types.ModuleType(module)  # the package is here; its weights are what is checked
    installed.__spec__ = importlib.machinery.ModuleSpec(module, None)
    monkeypatch.setitem(sys.modules, module, installed)
    hub = need("huggingface_hub.constants")
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub"))  # empty: nothing downloaded yet
    setting = "VOS_TTS__QWEN_MODEL" if backend == "qwen3" else "VOS_TTS__CHATTERBOX_MODEL_DIR"

    def status() -> str:
        code, lines = invoke("doctor", "--json")
        assert code == 0, lines
        engines = json.loads("\n".join(lines))["engines"]
        (found,) = [e["status"] for e in engines if e["backend"] == backend]
        return str(found)

    if backend == "qwen3":  # a model name: online only until it is cached
        assert status().startswith("online only (Qwen/Qwen3-TTS-12Hz-1.7B-Base is not cached")
    else:
        assert status().startswith("online only (ResembleAI/chatterbox is not cached")
    repo = "Qwen--Qwen3-TTS-12Hz-1.7B-Base" if backend == "qwen3" else "ResembleAI--chatterbox"
    cached = tmp_path / "hub" / f"models--{repo}"
    (cached / "snapshots" / "0123abc").mkdir(parents=True)
    (cached / "refs").mkdir()
    (cached / "refs" / "main").write_text("0123abc")
    assert status() == "available"  # in the cache: runs without the hub
    monkeypatch.setenv(setting, str(tmp_path / "weights"))
    assert status() == f"missing model (no directory {tmp_path / 'weights'}: {setting})"
    (tmp_path / "weights").mkdir()
    assert status() == "available"
