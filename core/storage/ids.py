"""Identifiers and clocks used by the storage layer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A random 32-character hex id (unguessable: ids are never the only check, ownership is)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone columns: treat them as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
