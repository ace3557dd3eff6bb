"""Releasing stored content: which blob keys a value names, and deleting those nothing names any more.

The reading of keys and the release are plain logic over two ports (``BlobReferences``, ``BlobStore``), so
the engine and every deletion path share them without knowing how references are stored
(``core.storage.blob_references`` answers the question in SQL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from core.ports import BlobReferences, BlobStore

_KEY = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


def keys_in(value: object) -> set[str]:
    """Every blob key found anywhere in a JSON value (strings, also inside longer strings, and dict keys)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.update(_KEY.findall(item))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


def flow_blob_keys(data: Mapping[str, object] | None) -> set[str]:
    """The blob keys a flow's persisted state holds (``/new``'s ``export_blob`` and ``photo_blob``).

    The one reading of flow data: the reference check, ``/forget_me`` and the engine, which releases these
    keys when it ends a flow, all ask it, so a flow cannot hold a blob that one of them does not see.
    """
    return keys_in(data) if data else set()


async def release_blobs(references: BlobReferences, blobs: BlobStore, keys: Iterable[str]) -> set[str]:
    """Delete those of ``keys`` that nothing names any more; returns the keys deleted.

    The one way a deletion path removes stored content: call it after deleting the rows that named ``keys``.
    A key that any row, unfinished flow or unfinished job still names (a voice recording with the same bytes
    as a deleted meeting, another user's identical export) is kept.
    """
    gone = await references.unreferenced(keys)
    for key in sorted(gone):
        await blobs.delete(key)
    return gone
