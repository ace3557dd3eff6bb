"""Settings of the Discord adapter: one frozen slice handed over by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.command_table import MenuItem

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscordAdapterConfig:
    """How the adapter talks to Discord.

    ``token`` is excluded from ``repr`` so a logged config never leaks it. ``guild_ids`` get the command
    tree copied and synced to them on start (instant), on top of the global sync (up to an hour to show).
    """

    token: str = field(repr=False)
    data_dir: Path
    guild_ids: tuple[int, ...] = ()
    sync_commands: bool = True
    # The engine's declared commands (``router.items``): the tree offers the Discord commands they name.
    commands: tuple[MenuItem, ...] = ()
    # Platform limits (Discord documentation); overridable so tests can use small files.
    max_upload_bytes: int = 10 * MIB
    max_download_bytes: int = 50 * MIB
    max_message_chars: int = 2000
    # Meetings.
    meeting_max_duration_s: float = 4 * 3600.0
    voice_connect_timeout_s: float = 30.0
    audio_retention_days: int = 30
    # An interaction token lives 15 minutes: engine work past that could not be shown anyway.
    event_timeout_s: float = 14 * 60.0
    pending_upload_ttl_s: float = 15 * 60.0

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("discord: a bot token is required")
        if self.max_upload_bytes <= 0 or self.max_download_bytes <= 0:
            raise ValueError("discord: file limits must be positive")
        if not 1 <= self.max_message_chars <= 2000:
            raise ValueError("discord: max_message_chars must be within 1..2000")
        if self.meeting_max_duration_s <= 0:
            raise ValueError("discord: meeting_max_duration_s must be positive")

    @property
    def meetings_dir(self) -> Path:
        """Where live captures are written: ``<data_dir>/meetings/<meeting id>/``."""
        return self.data_dir / "meetings"

    @property
    def downloads_dir(self) -> Path:
        """Where attachments land for the engine (one temporary folder per interaction)."""
        return self.data_dir / "downloads"

    @property
    def optout_file(self) -> Path:
        """Where earlier versions kept opt-outs (imported into the database on start, then renamed)."""
        return self.data_dir / "discord-optout.json"
