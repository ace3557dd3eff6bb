"""The orphaned-blob collector: every kind of reference keeps its blob; old orphans go, young ones stay.

Runs on SQLite and PostgreSQL, with the local store and an S3 bucket (moto over HTTP).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON

from core.domain.identity import Locale, Platform, UserRef
from core.ports import BlobStore
from core.storage import blob_gc, blob_references
from core.storage.blob_gc import BlobGarbageCollector
from core.storage.blob_references import (
    BLOB_KEY_COLUMNS,
    IN_PROGRESS_JSON,
    OWNER_OF,
    BlobReferenceRepository,
    keys_in,
)
from core.storage.blobs import LocalBlobStore
from core.storage.db import Database
from core.storage.ids import new_id, utcnow
from core.storage.models import (
    Base,
    BlobRefRow,
    JobRow,
    MeetingRow,
    StarRow,
    VoiceClipRow,
    VoiceMemoryRow,
    VoiceProfileRow,
    VoiceRecordingRow,
)
from core.storage.repositories import BlobRefRepository, FlowRepository, UserRepository
from tests.support.s3 import age_blob, stored_keys

LONG_AGO = timedelta(days=3)
HELD = (
    "blob_ref",
    "star_photo",
    "voice_recording",
    "voice_clip",
    "voice_memory",
    "meeting_audio",
    "flow",
    "job_queued",
    "job_running",
)


@pytest.fixture
async def gdb(database_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    database = Database(database_url)
    yield database
    await database.dispose()


async def _user(db: Database, uid: str = "u1") -> str:
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id=uid), display_name=uid, locale=Locale.KO
    )
    return user.id


async def _store_old(store: BlobStore, content: bytes) -> str:
    key = await store.put_bytes(content)
    age_blob(store, key, utcnow() - LONG_AGO)
    return key


async def _job(db: Database, owner: str, status: str, payload: dict[str, object]) -> str:
    job_id = new_id()
    async with db.write() as s:
        s.add(
            JobRow(
                id=job_id,
                kind="synthesis",
                owner_id=owner,
                status=status,
                payload=payload,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    return job_id


async def _reference_every_kind(db: Database, owner: str, keys: dict[str, str]) -> None:
    """One row per place a blob key can live, each naming only its own blob (no blob_refs beside it)."""
    star_id, recording_id, profile_id, now = new_id(), new_id(), new_id(), utcnow()
    async with db.write() as s:
        s.add(
            StarRow(
                id=star_id,
                owner_id=owner,
                name="엄마",
                participant_name="엄마",
                photo_blob=keys["star_photo"],
                created_at=now,
            )
        )
        await s.flush()
        s.add(BlobRefRow(blob_key=keys["blob_ref"], owner_id=owner, purpose="kakao_export", created_at=now))
        s.add(
            VoiceRecordingRow(
                id=recording_id,
                owner_id=owner,
                star_id=star_id,
                blob_key=keys["voice_recording"],
                created_at=now,
            )
        )
        s.add(
            VoiceProfileRow(
                id=profile_id,
                star_id=star_id,
                owner_id=owner,
                engine="fake",
                embedding=[0.0],
                created_at=now,
                updated_at=now,
            )
        )
        await s.flush()
        s.add(
            VoiceClipRow(
                id=new_id(), profile_id=profile_id, blob_key=keys["voice_clip"], seconds=3.0, created_at=now
            )
        )
        s.add(
            VoiceMemoryRow(
                owner_id=owner,
                star_id=star_id,
                source_start=0.0,
                source_end=2.0,
                text="밥 먹었어?",
                blob_key=keys["voice_memory"],
                created_at=now,
            )
        )
        s.add(
            MeetingRow(
                id=new_id(),
                owner_user_id=owner,
                title="standup",
                status="done",
                audio_blob=keys["meeting_audio"],
                created_at=now,
            )
        )
    # /new keeps its uploads in the flow's state until the star exists (nested here, as any flow may).
    await FlowRepository(db).save(
        owner, "create_star", "participant", {"name": "엄마", "uploads": [{"export_blob": keys["flow"]}]}
    )
    await _job(db, owner, "queued", {"input": {"blob_key": keys["job_queued"]}})
    await _job(db, owner, "running", {"note": f"blob:{keys['job_running']}"})


async def test_every_kind_of_reference_keeps_its_blob_and_old_orphans_go(
    gdb: Database, store: BlobStore
) -> None:
    owner = await _user(gdb)
    keys = {kind: await _store_old(store, f"content of {kind}".encode()) for kind in HELD}
    await _reference_every_kind(gdb, owner, keys)
    orphan = await _store_old(store, b"a cancelled upload")
    finished = await _store_old(store, b"named only by a finished job")
    await _job(gdb, owner, "done", {"blob_key": finished})
    young = await store.put_bytes(b"uploaded a moment ago, reference not written yet")

    result = await BlobGarbageCollector(BlobReferenceRepository(gdb), store).collect()

    assert (result.scanned, result.deleted, result.kept_young, result.kept_referenced) == (12, 2, 1, 9)
    assert result.bytes_freed == len(b"a cancelled upload") + len(b"named only by a finished job")
    assert not result.dry_run
    for kind, key in keys.items():
        assert await store.exists(key), kind
    assert not await store.exists(orphan)
    assert not await store.exists(finished)
    assert await store.exists(young)
    assert sorted(await stored_keys(store)) == sorted([*keys.values(), young])


async def test_dry_run_deletes_nothing(gdb: Database, store: BlobStore) -> None:
    orphan = await _store_old(store, b"a cancelled upload")
    collector = BlobGarbageCollector(BlobReferenceRepository(gdb), store)
    result = await collector.collect(dry_run=True)
    assert (result.deleted, result.bytes_freed, result.dry_run) == (1, len(b"a cancelled upload"), True)
    assert await store.exists(orphan)
    assert (await collector.collect()).deleted == 1
    assert not await store.exists(orphan)


async def test_a_flow_or_job_holds_its_blob_only_while_unfinished(gdb: Database, store: BlobStore) -> None:
    owner = await _user(gdb)
    export = await _store_old(store, b"the export of an unfinished /new")
    audio = await _store_old(store, b"audio a queued job will read")
    flows = FlowRepository(gdb)
    await flows.save(owner, "create_star", "participant", {"export_blob": export})
    job_id = await _job(gdb, owner, "queued", {"blob_key": audio})
    collector = BlobGarbageCollector(BlobReferenceRepository(gdb), store, grace=timedelta(0))

    assert (await collector.collect()).deleted == 0
    assert await store.exists(export) and await store.exists(audio)

    await flows.clear(owner)  # /cancel
    async with gdb.write() as s:
        job = await s.get(JobRow, job_id)
        assert job is not None
        job.status = "cancelled"
    result = await collector.collect()
    assert result.deleted == 2
    assert await stored_keys(store) == []


async def test_grace_and_clock_decide_what_is_young(gdb: Database, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    key = await store.put_bytes(b"just uploaded")
    later = utcnow() + timedelta(hours=25)
    refs = BlobReferenceRepository(gdb)
    assert (await BlobGarbageCollector(refs, store).collect()).kept_young == 1
    wide = BlobGarbageCollector(refs, store, grace=timedelta(hours=26), clock=lambda: later)
    assert (await wide.collect()).kept_young == 1
    assert (await BlobGarbageCollector(refs, store).collect(grace=timedelta(0), dry_run=True)).deleted == 1
    assert await store.exists(key)
    result = await BlobGarbageCollector(refs, store, clock=lambda: later).collect()
    assert (result.deleted, result.kept_young) == (1, 0)
    assert not await store.exists(key)


async def test_many_blobs_are_checked_in_batches(
    gdb: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blob_gc, "_BATCH", 3)
    monkeypatch.setattr(blob_references, "_BATCH", 2)
    owner = await _user(gdb)
    store = LocalBlobStore(tmp_path / "blobs")
    keys = [await _store_old(store, f"blob {i}".encode()) for i in range(10)]
    kept = keys[::3]
    for key in kept:
        await BlobRefRepository(gdb).add(key, owner_id=owner, purpose="kakao_export")
    result = await BlobGarbageCollector(BlobReferenceRepository(gdb), store).collect()
    assert (result.scanned, result.deleted, result.kept_referenced) == (10, 6, 4)
    assert await stored_keys(store) == sorted(kept)


async def test_held_by_names_every_kind_of_the_users_own_references(gdb: Database, tmp_path: Path) -> None:
    """What ``/forget_me`` releases: every column, the user's flows and all of their jobs, nobody else's."""
    alice, bob = await _user(gdb, "alice"), await _user(gdb, "bob")
    store = LocalBlobStore(tmp_path / "blobs")
    keys = {kind: await store.put_bytes(f"alice's {kind}".encode()) for kind in HELD}
    await _reference_every_kind(gdb, alice, keys)
    finished = await store.put_bytes(b"named by a finished job of alice's")
    await _job(gdb, alice, "done", {"blob_key": finished})
    bobs = {kind: await store.put_bytes(f"bob's {kind}".encode()) for kind in HELD}
    await _reference_every_kind(gdb, bob, bobs)
    refs = BlobReferenceRepository(gdb)

    assert await refs.held_by(alice) == {*keys.values(), finished}
    assert await refs.held_by(bob) == set(bobs.values())
    assert await refs.held_by("nobody") == set()
    assert await refs.unreferenced([*keys.values(), finished]) == {finished}


def _name(c: Any) -> tuple[str, str]:
    return (c.class_.__tablename__, c.key)


def test_every_key_column_has_an_owner_for_forget_me() -> None:
    """``held_by`` reads each key column through its owner (a voice clip's through its profile)."""
    assert {_name(c) for c in (*OWNER_OF, VoiceClipRow.blob_key)} == {_name(c) for c in BLOB_KEY_COLUMNS}
    assert all(_name(owner)[0] == _name(column)[0] for column, owner in OWNER_OF.items())


def test_keys_are_found_anywhere_in_json() -> None:
    a, b, c = (hashlib.sha256(x).hexdigest() for x in (b"a", b"b", b"c"))
    data = {"x": [1, None, {"deep": [a]}], b: True, "text": f"see blob:{c}.", "upper": a.upper()}
    assert keys_in(data) == {a, b, c}
    assert keys_in({"too long": a + "0", "too short": a[:63], "n": 5}) == set()
    assert keys_in(None) == set()


def test_every_column_that_can_name_a_blob_is_checked() -> None:
    """A new ``*blob*`` column or a new JSON column must be added to the collector's lists (or here)."""
    checked = {(c.class_.__tablename__, c.key) for c in BLOB_KEY_COLUMNS}
    named_blob = {
        (t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns if "blob" in c.name
    }
    assert named_blob == checked
    never_keys = {
        ("style_profiles", "profile"),
        ("style_profiles", "traits"),
        ("safety_events", "reasons"),
        ("voice_profiles", "embedding"),
        ("meetings", "summary"),
    }
    json_columns = {
        (t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns if isinstance(c.type, JSON)
    }
    in_progress = {(c.class_.__tablename__, c.key) for c in IN_PROGRESS_JSON}
    assert json_columns == in_progress | never_keys
