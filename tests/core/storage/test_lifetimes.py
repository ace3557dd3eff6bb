"""File lifetimes: the outbox (exports), crashed uploads' temporary files, SQLite secure_delete and the WAL
checkpoint after deletions, abandoned flows expiring."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from core.storage.blobs import INCOMING_PREFIX, LocalBlobStore, incoming_file, sweep_incoming
from core.storage.db import Database
from core.storage.ids import utcnow
from core.storage.migrate import upgrade
from core.storage.outbox import Outbox
from core.storage.repositories import FlowRepository, UserRepository
from tests.support.crash import age, crash_while_writing


async def test_outbox_files_go_by_owner_by_subject_and_after_the_ttl(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox", ttl_s=60)
    a1 = await outbox.write("alice", "star1", ".zip", b"one")
    a2 = await outbox.write("alice", "star2", ".zip", b"two")
    b1 = await outbox.write("bob", "star1", ".md", b"three")
    assert outbox.owns(a1) and a1.read_bytes() == b"one"
    assert await outbox.delete_about("star1") == 2
    assert not a1.exists() and not b1.exists() and a2.exists()
    b2 = await outbox.write("bob", "m", ".png", b"four")
    assert await outbox.delete_owned("alice") == 1 and not a2.exists() and b2.exists()
    assert await outbox.sweep() == 0  # young
    assert await outbox.sweep(now=time.time() + 61) == 1 and not b2.exists()
    assert await outbox.sweep() == 0


def test_outbox_names_carry_no_user_text(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o")
    path = outbox.new_path("../../etc", "a/b~c", ".zip")
    assert path.parent == tmp_path / "o" and "/" not in path.name[:-4] and path.name.count("~") == 2


async def test_crashed_uploads_are_swept_but_live_ones_kept(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    crash_while_writing(store.root, b"chat export of a crashed upload")
    crashed = [p for p in store.root.iterdir() if p.name.startswith(INCOMING_PREFIX)]
    assert len(crashed) == 1 and crashed[0].read_bytes() == b"chat export of a crashed upload"
    assert [b async for b in store.list_blobs()] == []  # not a blob: the key listing never saw it
    assert await store.sweep_incoming() == 0  # a minute's grace: its writer may not have locked it yet
    age(crashed[0], 120)
    with incoming_file(store.root) as (_fd, live):
        age(Path(live), 120)  # an old but live write (a slow upload) is locked, so kept
        assert await store.sweep_incoming() == 1
        assert Path(live).exists() and not crashed[0].exists()
    assert not Path(live).exists()  # the block cleans up after itself
    assert sweep_incoming(tmp_path / "missing") == 0


async def test_secure_delete_is_on_and_deletions_truncate_the_wal(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'vos.db'}"
    await upgrade(url)
    db = Database(url)
    try:
        marker = "ZQX-secure-delete-marker-7731"
        users = UserRepository(db)
        async with db.write() as s:
            assert (await s.execute(text("PRAGMA secure_delete"))).scalar() == 1
        from core.domain.identity import Locale, Platform, UserRef

        user = await users.get_or_create(
            UserRef(platform=Platform.CONSOLE, platform_user_id="u"), display_name=marker, locale=Locale.EN
        )
        assert (tmp_path / "vos.db-wal").stat().st_size > 0
        await users.delete(user.id)
        await db.after_deletion()
        assert (tmp_path / "vos.db-wal").stat().st_size == 0
        for name in ("vos.db", "vos.db-wal"):
            assert marker.encode() not in (tmp_path / name).read_bytes(), name
    finally:
        await db.dispose()


async def test_stale_flows_expire_and_fresh_ones_stay(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'vos.db'}"
    await upgrade(url)
    db = Database(url)
    try:
        from core.domain.identity import Locale, Platform, UserRef

        users, flows = UserRepository(db), FlowRepository(db)
        old = await users.get_or_create(
            UserRef(platform=Platform.CONSOLE, platform_user_id="old"), display_name="o", locale=Locale.EN
        )
        new = await users.get_or_create(
            UserRef(platform=Platform.CONSOLE, platform_user_id="new"), display_name="n", locale=Locale.EN
        )
        await flows.save(old.id, "create_star", "export", {"export_blob": "a" * 64})
        await flows.save(new.id, "create_star", "export", {})
        assert await flows.expire(utcnow() - timedelta(hours=1)) == []
        expired = await flows.expire(utcnow() + timedelta(seconds=1) - timedelta(seconds=0))
        assert {e.user_id for e in expired} == {old.id, new.id}
        assert await flows.get(old.id) is None
    finally:
        await db.dispose()
