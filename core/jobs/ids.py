"""Job ids: random, or derived from an idempotency key so that a repeated submission finds the same job."""

from __future__ import annotations

import hashlib

from core.storage.ids import new_id


def job_id_for(kind: str, owner_id: str, idempotency_key: str | None) -> str:
    """A 32-character id; the same (kind, owner, key) always gives the same id."""
    if idempotency_key is None:
        return new_id()
    digest = hashlib.sha256(f"{kind}\0{owner_id}\0{idempotency_key}".encode()).hexdigest()
    return digest[:32]
