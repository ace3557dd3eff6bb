"""Who is talking: platforms, platform identities and VOS users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Platform(StrEnum):
    """A messenger VOS runs on."""

    TELEGRAM = "telegram"
    DISCORD = "discord"
    CONSOLE = "console"
    CLI = "cli"


class Locale(StrEnum):
    """A language VOS speaks to users in."""

    KO = "ko"
    EN = "en"

    @classmethod
    def from_tag(cls, tag: str | None, default: Locale | None = None) -> Locale:
        """Map a platform language tag (``ko``, ``ko-KR``, ``en_US``...) to a supported locale."""
        fallback = default or cls.KO
        if not tag:
            return fallback
        primary = tag.replace("_", "-").split("-", 1)[0].lower()
        for loc in cls:
            if loc.value == primary:
                return loc
        return cls.EN if primary else fallback


class SpaceKind(StrEnum):
    """What kind of place an event happened in."""

    USER = "user"
    """The user's private conversation with VOS (a Telegram private chat, a Discord DM, the console)."""
    GUILD = "guild"
    """A server (a Discord guild) the user is a member of: its members share what belongs to it."""
    CHAT = "chat"
    """A group chat."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Space:
    """Where an event happened, as a typed reference (core never reads it out of a chat id)."""

    kind: SpaceKind
    id: str

    @classmethod
    def guild(cls, guild_id: str) -> Space:
        """A Discord server."""
        return cls(kind=SpaceKind.GUILD, id=guild_id)

    @classmethod
    def chat(cls, chat_id: str) -> Space:
        """A group chat."""
        return cls(kind=SpaceKind.CHAT, id=chat_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRef:
    """A user as a platform knows them: the platform and its user id."""

    platform: Platform
    platform_user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A VOS user. One row per platform identity."""

    id: str
    platform: Platform
    platform_user_id: str
    display_name: str
    locale: Locale
    created_at: datetime
    locale_is_explicit: bool = False

    @property
    def ref(self) -> UserRef:
        """The platform identity of this user."""
        return UserRef(platform=self.platform, platform_user_id=self.platform_user_id)

    @property
    def given_name(self) -> str:
        """The platform's name for the user, or "" where it gave none (the console's is its user id)."""
        return "" if self.display_name == self.platform_user_id else self.display_name.strip()
