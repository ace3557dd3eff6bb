"""Rows to domain objects: the one reading of users, stars and chat turns (models, Core rows, tuples)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from core.domain.identity import Locale, Platform, User
from core.domain.stars import ChatTurn, Star, StarStatus, TurnRole
from core.storage.ids import aware
from core.storage.models import ChatTurnRow, StarRow, UserRow

# Plain dict lookups: calling an Enum class by value is several times slower, once per row (hot path).
_PLATFORMS = {p.value: p for p in Platform}
_LOCALES = {loc.value: loc for loc in Locale}
_ROLES = {r.value: r for r in TurnRole}
_STATUSES = {s.value: s for s in StarStatus}


def to_user(row: UserRow | Row[Any] | Any) -> User:
    """A user from anything with ``UserRow``'s attribute names (a model, a Core row, a named tuple)."""
    return User(
        id=row.id,
        platform=_PLATFORMS[row.platform],
        platform_user_id=row.platform_user_id,
        display_name=row.display_name,
        locale=_LOCALES[row.locale],
        locale_is_explicit=row.locale_explicit,
        created_at=aware(row.created_at),
    )


def to_star(row: StarRow | Row[Any] | Any) -> Star:
    """A star from anything with ``StarRow``'s attribute names."""
    return Star(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        relation=row.relation,
        participant_name=row.participant_name,
        notes=row.notes,
        birth_date=row.birth_date,
        death_date=row.death_date,
        photo_blob=row.photo_blob,
        status=_STATUSES[row.status],
        created_at=aware(row.created_at),
        user_address=row.user_address or "",
        user_name=row.user_name or "",
    )


def to_turn(row: ChatTurnRow | Row[Any] | Any) -> ChatTurn:
    """A chat turn from anything with ``ChatTurnRow``'s attribute names."""
    return ChatTurn(
        id=str(row.id),
        user_id=row.user_id,
        star_id=row.star_id,
        role=_ROLES[row.role],
        text=row.text,
        engine=row.engine,
        created_at=aware(row.created_at),
    )


def as_naive(value: datetime) -> datetime:
    """Export times are local wall-clock times: store them naive."""
    return value.replace(tzinfo=None)
