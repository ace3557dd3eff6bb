"""Storage as the core sees it: Protocols that take and return domain dataclasses.

The engine, the commands and the flows reach storage only through these (an import contract says so);
``core.storage`` implements them with SQLAlchemy, and ``bot.wiring`` is the one place that builds the
concrete repositories. Nothing here names a table, a row or a session.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from core.domain.flows import ExpiredFlow, RunningFlow
from core.domain.identity import Locale, User, UserRef
from core.domain.records import Consent
from core.domain.stars import ChatTurn, Star, StarStatus, StoredStyle

if TYPE_CHECKING:
    # Memory search types stay with the memory store until they move to core.domain (see ARCHITECTURE.md).
    from core.storage.memory import MemoryQuery, Recollection


class UserStore(Protocol):
    """Users by platform identity, their locale, active star and reply preferences."""

    async def get_or_create(self, ref: UserRef, *, display_name: str, locale: Locale) -> User:
        """The user for a platform identity, created on first contact."""
        ...

    async def get(self, user_id: str) -> User | None:
        """A user by id."""
        ...

    async def set_locale(self, user_id: str, locale: Locale) -> None:
        """Switch the user's language explicitly."""
        ...

    async def set_active_star(self, user_id: str, star_id: str | None) -> None:
        """Which star the user's plain messages go to."""
        ...

    async def active_star_id(self, user_id: str) -> str | None:
        """The user's active star id, if any."""
        ...

    async def active_star(self, user_id: str) -> Star | None:
        """The user's active star, if it is set and the user owns it."""
        ...

    async def voice_replies(self, user_id: str) -> bool:
        """Whether the user wants voice messages answered with a voice note too."""
        ...

    async def set_voice_replies(self, user_id: str, on: bool) -> None:
        """Turn voice replies on or off."""
        ...

    async def delete(self, user_id: str) -> None:
        """Delete a user and everything they own."""
        ...


class StarStore(Protocol):
    """Stars as their owners see them (a star being imported is nobody's yet)."""

    async def get_owned(self, star_id: str, owner_id: str) -> Star | None:
        """The star if ``owner_id`` owns it, else ``None``."""
        ...

    async def list_owned(self, owner_id: str) -> list[Star]:
        """The user's stars, oldest first."""
        ...

    async def set_status(self, star_id: str, owner_id: str, status: StarStatus) -> bool:
        """Change a star's status; False when the user does not own it."""
        ...

    async def set_names(
        self, star_id: str, owner_id: str, *, user_address: str | None = None, user_name: str | None = None
    ) -> bool:
        """Store what the star called the user and/or the user's own name."""
        ...

    async def other_authors(self, star_id: str, limit: int = 3) -> list[str]:
        """The other participants of the star's export, most messages first."""
        ...

    async def delete_owned(self, star_id: str, owner_id: str) -> bool:
        """Delete a star and every row derived from it; False when the user does not own it."""
        ...

    async def style_profile(self, star_id: str) -> StoredStyle | None:
        """The star's stored style profile and traits."""
        ...


class FlowStore(Protocol):
    """The persisted state of each user's current multi-step dialog."""

    async def get(self, user_id: str) -> RunningFlow | None:
        """The user's running flow, if any."""
        ...

    async def save(self, user_id: str, kind: str, step: str, data: dict[str, Any]) -> None:
        """Create or replace the user's flow state."""
        ...

    async def clear(self, user_id: str) -> dict[str, Any] | None:
        """End the user's flow; returns the data it held (``None``: there was none)."""
        ...

    async def expire(self, older_than: datetime, *, limit: int = 500) -> list[ExpiredFlow]:
        """End the flows nobody touched since ``older_than``; returns each as it was."""
        ...


class ConsentStore(Protocol):
    """Consents with their wording and time."""

    async def record(self, user_id: str, kind: str, text: str, star_id: str | None = None) -> None:
        """Store one consent."""
        ...

    async def list_for(self, user_id: str, star_id: str | None = None) -> list[Consent]:
        """A user's consents (and a star's), oldest first."""
        ...

    async def has(self, user_id: str, kind: str, star_id: str | None = None) -> bool:
        """Whether the user gave this consent."""
        ...


class BlobReferences(Protocol):
    """Whether anything stored still names a blob (rows, unfinished flows, unfinished jobs)."""

    async def referenced(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` something still names."""
        ...

    async def unreferenced(self, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` nothing names any more."""
        ...

    async def held_by(self, user_id: str) -> set[str]:
        """Every blob key the user's own rows, flows and jobs name."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StarChat:
    """What a chat turn needs to know about the user's active star.

    ``star`` is ``None`` when no star is active. ``export_version`` changes whenever an import adds
    messages to the star (caches of the export are keyed by it). ``history`` is the recent conversation,
    oldest first (not read for a retired star); ``talked`` whether the user ever talked with the star,
    even if ``/reset`` took every turn out of the history. ``memories``: the star's past exchanges that
    resemble the message, when the read was asked to recall them (``None``: not searched, or the star's
    vectors were not loaded yet: the chat searches itself).
    """

    star: Star | None
    export_version: int = -1
    history: tuple[ChatTurn, ...] = ()
    talked: bool = False
    memories: tuple[Recollection, ...] | None = None
    query: MemoryQuery | None = None
    """The message prepared for memory search (and safety), when the read was given one."""
    care_read: bool = False
    last_care: tuple[str, datetime] | None = None
    """The latest care event after a crisis hand-off (``crisis``, ``safe``, ``checkin``) if ``care_read``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnState:
    """The user, their running dialog, and (when asked for and no dialog runs) their active star's chat."""

    user: User
    flow: RunningFlow | None
    chat: StarChat | None


class TurnReader(Protocol):
    """Reads what one event needs in one round trip; creates the user on first contact."""

    async def read(
        self,
        ref: UserRef,
        *,
        display_name: str,
        locale: Locale,
        history_turns: int | None = None,
        recall: MemoryQuery | None = None,
        recall_limit: int = 6,
    ) -> TurnState:
        """The user behind ``ref`` and their running flow; with ``history_turns`` their active star's chat,
        and with ``recall`` the star's moments most like the message."""
        ...

    async def star_chat(self, user_id: str, history_turns: int) -> StarChat:
        """The user's active star chat alone."""
        ...
