"""`vos admin`: stats, jobs (list, retry, cancel) and a user's holdings and deletion, on a real SQLite app."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.demo import DEMO_EXPORT
from core.storage.db import Database
from core.storage.ids import new_id, utcnow
from core.storage.models import JobRow, UserRow


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _seed_jobs(data_dir: Path) -> dict[str, str]:
    """A job of each status for the console user 'local' (written as the queue's runner would)."""

    async def seed() -> dict[str, str]:
        db = Database(f"sqlite+aiosqlite:///{(data_dir / 'vos.db').resolve()}")
        from sqlalchemy import select

        ids: dict[str, str] = {}
        async with db.write() as s:
            owner = await s.scalar(select(UserRow.id).where(UserRow.platform_user_id == "local"))
            now = utcnow()
            for i, status in enumerate(["queued", "running", "done", "failed", "cancelled"]):
                ids[status] = new_id()
                s.add(
                    JobRow(
                        id=ids[status],
                        kind="transcribe",
                        owner_id=owner,
                        status=status,
                        payload={"blob": "k"},
                        error="worker died" if status == "failed" else None,
                        attempts=1,
                        created_at=now + timedelta(seconds=i),
                        updated_at=now,
                    )
                )
        await db.dispose()
        return ids

    return asyncio.run(seed())


def test_admin_commands_end_to_end(data_dir: Path) -> None:
    code, out = invoke(
        "star", "create", "--name", "엄마", "--export", str(DEMO_EXPORT), "--participant", "엄마", "--json"
    )
    assert code == 0, out
    invoke("chat", "엄마", "밥 먹었어?")
    jobs = _seed_jobs(data_dir)

    code, out = invoke("admin", "stats", "--json")
    assert code == 0, out
    stats = json.loads(out)
    assert (stats["users"], stats["stars"], stats["meetings"], stats["queue_depth"]) == (1, 1, 0, 0)
    assert stats["jobs_by_status"] == dict.fromkeys(["queued", "running", "done", "failed", "cancelled"], 1)
    code, out = invoke("admin", "stats")
    assert "users:       1" in out and "queue depth: 0" in out

    code, out = invoke("admin", "jobs", "--json")
    assert [j["status"] for j in json.loads(out)] == ["cancelled", "failed", "done", "running", "queued"]
    code, out = invoke("admin", "jobs", "--status", "failed")
    assert code == 0 and jobs["failed"] in out and "worker died" in out and jobs["done"] not in out
    code, out = invoke("admin", "jobs", "--status", "exploded")
    assert code == 2 and "--status" in out

    code, out = invoke("admin", "jobs", "retry", jobs["failed"], "--json")
    assert code == 0 and json.loads(out)["status"] == "queued"
    code, out = invoke("admin", "jobs", "cancel", jobs["running"])
    assert code == 0 and "cancelled" in out
    code, out = invoke("admin", "jobs", "retry", jobs["done"])
    assert code == 1 and "a done job cannot be retried" in out
    code, out = invoke("admin", "jobs", "--status", "queued", "--json")
    assert {j["id"] for j in json.loads(out)} == {jobs["queued"], jobs["failed"]}

    code, out = invoke("admin", "user", "console:local", "--json")
    assert code == 0, out
    held = json.loads(out)
    assert [s[1] for s in held["stars"]] == ["엄마"] and held["chat_turns"] >= 2 and held["jobs"] == 5
    assert held["blobs"] == 1 and held["blob_bytes"] == DEMO_EXPORT.stat().st_size and not held["deleted"]
    code, out = invoke("admin", "user", held["user_id"])
    assert code == 0 and "엄마" in out and f"({held['blob_bytes']} bytes)" in out

    code, out = invoke("admin", "user", "console:local", "--delete", "--yes", "--json")
    assert code == 0 and json.loads(out)["deleted"] is True
    code, out = invoke("admin", "user", "console:local")
    assert code == 1 and "no user" in out
    assert not [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]
    code, out = invoke("admin", "stats", "--json")
    stats = json.loads(out)
    assert (stats["users"], stats["stars"], sum(stats["jobs_by_status"].values())) == (0, 0, 0)


def test_admin_user_delete_asks_first(data_dir: Path) -> None:
    invoke("star", "create", "--name", "엄마", "--export", str(DEMO_EXPORT), "--participant", "엄마")
    result = CliRunner().invoke(app, ["admin", "user", "console:local", "--delete"], input="n\n")
    assert result.exit_code == 1
    code, out = invoke("admin", "user", "console:local", "--json")
    assert code == 0 and len(json.loads(out)["stars"]) == 1
    assert os.listdir(data_dir / "blobs")


def test_admin_blobs_gc_deletes_orphans_and_dry_run_only_counts(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.storage.blobs import LocalBlobStore

    code, out = invoke(
        "star", "create", "--name", "엄마", "--export", str(DEMO_EXPORT), "--participant", "엄마", "--json"
    )
    assert code == 0, out
    store = LocalBlobStore(data_dir / "blobs")
    orphan = asyncio.run(store.put_bytes(b"an export whose /new was cancelled"))
    monkeypatch.setenv("VOS_BLOBS__GC_GRACE_HOURS", "0")

    code, out = invoke("admin", "blobs", "gc", "--dry-run")
    assert code == 0, out
    assert "would delete:    1 (34 bytes)" in out and "kept, in use:    1" in out
    assert store.local_path(orphan).exists()
    code, out = invoke("admin", "blobs", "gc", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["scanned"], data["deleted"], data["bytes_freed"], data["dry_run"]) == (2, 1, 34, False)
    assert data["grace_hours"] == 0
    assert not store.local_path(orphan).exists()
    assert orphan not in out  # counts only
    code, out = invoke("admin", "stats", "--json")
    assert json.loads(out)["stars"] == 1
    assert len([p for p in (data_dir / "blobs").rglob("*") if p.is_file()]) == 1  # the star's export
