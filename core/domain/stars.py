"""Stars (the people users remember) and the chat turns users have with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class StarStatus(StrEnum):
    """Where a star is in its life cycle."""

    ACTIVE = "active"
    RETIRED = "retired"
    IMPORTING = "importing"
    """Being imported: invisible to every command until its last batch commits."""


class TurnRole(StrEnum):
    """Who wrote a chat turn."""

    USER = "user"
    STAR = "star"
    NOTICE = "notice"


@dataclass(frozen=True, slots=True, kw_only=True)
class Star:
    """A persona built from a loved one's chat export."""

    id: str
    owner_id: str
    name: str
    relation: str
    participant_name: str
    notes: str = ""
    birth_date: date | None = None
    death_date: date | None = None
    photo_blob: str | None = None
    status: StarStatus = StarStatus.ACTIVE
    created_at: datetime
    user_address: str = ""
    """How the star addressed the user (아들, 민준아, honey), as the user confirmed it."""
    user_name: str = ""
    """The user's own name, as they gave it (else the platform's display name is used)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewStar:
    """What the user told us about the star."""

    owner_id: str
    name: str
    relation: str
    participant: str
    notes: str = ""
    birth_date: date | None = None
    death_date: date | None = None
    photo_blob: str | None = None
    export_filename: str = ""
    """The export's name as the user sent it (kept in ``/export``); blobs are stored by content."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatTurn:
    """One message in the conversation between a user and a star (one bubble)."""

    id: str
    user_id: str
    star_id: str
    role: TurnRole
    text: str
    created_at: datetime
    engine: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredStyle:
    """A star's style profile as stored: the profile's JSON fields and the traits extracted from it.

    ``profile`` is what ``StyleProfile.to_dict`` wrote (``core.personas.style``); ``StyleProfile.from_dict``
    reads it back.
    """

    profile: Mapping[str, Any]
    traits: tuple[str, ...] = ()
