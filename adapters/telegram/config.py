"""Settings of the Telegram adapter: one frozen slice handed over by the composition root."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.command_table import MenuItem

MB = 1024 * 1024

# Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and - as a webhook secret token.
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramAdapterConfig:
    """How the adapter talks to the Bot API.

    ``token`` and ``webhook_secret_token`` are excluded from ``repr`` so a logged config never leaks them.
    ``base_url``/``base_file_url`` point PTB at another Bot API server (a local one in tests), in PTB's
    format: ``http://host:port/bot`` and ``http://host:port/file/bot`` (the token is appended).
    """

    token: str = field(repr=False)
    mode: Literal["polling", "webhook"] = "polling"
    # Webhook mode: Telegram posts to webhook_url; PTB's server listens on listen:port/url_path.
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_path: str = "telegram"
    webhook_secret_token: str = field(default="", repr=False)
    base_url: str | None = None
    base_file_url: str | None = None
    # Where downloads land (one temporary folder per update, removed after the engine handled it).
    download_dir: Path | None = None
    # Platform limits (Bot API documentation); overridable so tests can use small files.
    max_download_bytes: int = 20 * MB
    max_upload_bytes: int = 50 * MB
    max_voice_note_bytes: int = 1 * MB
    max_message_chars: int = 4096
    max_caption_chars: int = 1024
    # Behaviour.
    poll_timeout_s: int = 10
    # Pause between long polls: under load each getUpdates then returns a larger batch (20 ms cut
    # getUpdates calls per update 3-4x on the local benchmark; CPU per update barely moved). Off by default.
    poll_interval_s: float = 0.0
    max_typing_pause_s: float = 5.0
    progress_edit_interval_s: float = 1.0
    # Chats handled at once (one update each; a chat's next update waits for its previous one).
    concurrent_updates: int = 256
    # A flooding chat's queue: updates beyond this many pending are dropped (logged).
    max_pending_per_chat: int = 2000
    # HTTP client for Bot API calls: aiohttp (adapters/telegram/request.py) costs about half the CPU
    # per call of PTB's default httpx; httpx stays selectable.
    http_client: Literal["aiohttp", "httpx"] = "aiohttp"
    # HTTP connections to the Bot API. httpcore scans its whole pool for every request, so more is not
    # faster: 8 measured best on the local benchmark (bench/telegram_throughput.py).
    connection_pool_size: int = 8
    event_timeout_s: float = 900.0
    drop_pending_updates: bool = False
    # The command menu (``setMyCommands``): the engine's declared commands, ``router.menu()``; empty: none.
    menu: tuple[MenuItem, ...] = ()
    # adapters/telegram/ratelimit.py: 30 messages/s overall by default (0 disables); a 429 pauses its chat
    # only, then the call is retried.
    overall_max_rate: float = 30.0
    group_max_rate: float = 20.0
    max_retries: int = 3

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("telegram: a bot token is required")
        if self.mode not in ("polling", "webhook"):
            raise ValueError(f"telegram: unknown mode {self.mode!r} (polling or webhook)")
        if self.mode == "webhook":
            if not self.webhook_url:
                raise ValueError("telegram: webhook mode needs webhook_url")
            if not _SECRET_TOKEN.match(self.webhook_secret_token):
                raise ValueError(
                    "telegram: webhook mode needs webhook_secret_token (1-256 of A-Z a-z 0-9 _ -)"
                )
        if self.http_client not in ("aiohttp", "httpx"):
            raise ValueError(f"telegram: unknown http_client {self.http_client!r} (aiohttp or httpx)")
        if self.poll_interval_s < 0:
            raise ValueError("telegram: poll_interval_s must not be negative")
        if self.max_download_bytes <= 0 or self.max_upload_bytes <= 0:
            raise ValueError("telegram: file limits must be positive")
