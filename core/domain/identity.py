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
