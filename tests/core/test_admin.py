"""The operator service on both databases: totals, the jobs table, a user's holdings, delete via /forget_me."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.admin import AdminService, redis_queue_depth
from core.domain.identity import Locale, Platform, UserRef
from core.storage.admin_repository import AdminRepository
from core.storage.db import Database
from core.storage.ids import new_id, utcnow
from core.storage.models import ChatTurnRow, JobRow, MeetingRow, StarRow
from core.storage.repositories import BlobRefRepository, UserRepository
from tests.support import redis as redis_support

KEY_A, KEY_B, KEY_AUDIO = "a" * 64, "b" * 64, "c" * 64
redis_url = redis_support.redis_url  # the fixture


async def _seed(db: Database) -> tuple[str, str, dict[str, str]]:
    """Two users; alice has 2 stars, 3 chat turns, a meeting with audio, 2 blobs and a job of each status."""
    users = UserRepository(db)
    alice = await users.get_or_create(
        UserRef(platform=Platform.TELEGRAM, platform_user_id="1001"), display_name="Alice", locale=Locale.KO
    )
    await users.get_or_create(
        UserRef(platform=Platform.DISCORD, platform_user_id="2002"), display_name="Bob", locale=Locale.EN
    )
    now = utcnow()
    star_ids = [new_id(), new_id()]
    jobs: dict[str, str] = {}
    async with db.write() as s:
        for i, (sid, status) in enumerate(zip(star_ids, ["active", "retired"], strict=True)):
            s.add(
                StarRow(
                    id=sid,
                    owner_id=alice.id,
                    name=f"star{i}",
                    participant_name="p",
                    status=status,
                    created_at=now,
                )
            )
        await s.flush()
        for i in range(3):
            s.add(
                ChatTurnRow(user_id=alice.id, star_id=star_ids[0], role="user", text=f"t{i}", created_at=now)
            )
        s.add(
            MeetingRow(
                id=new_id(),
                owner_user_id=alice.id,
                title="m",
                created_at=now,
                status="done",
                audio_blob=KEY_AUDIO,
            )
        )
        for i, status in enumerate(["queued", "running", "done", "failed", "cancelled"]):
            jobs[status] = new_id()
            s.add(
                JobRow(
                    id=jobs[status],
                    kind="transcribe",
                    owner_id=alice.id,
                    status=status,
                    payload={},
                    error="boom" if status == "failed" else None,
                    attempts=2 if status == "failed" else 0,
                    progress=0.5 if status == "failed" else 0.0,
                    created_at=now + timedelta(seconds=i),
                    updated_at=now,
                )
            )
    refs = BlobRefRepository(db)
    await refs.add(KEY_A, owner_id=alice.id, purpose="kakao_export", star_id=star_ids[0], size=100)
    await refs.add(KEY_A, owner_id=alice.id, purpose="kakao_export", star_id=star_ids[1], size=100)  # shared
    await refs.add(KEY_B, owner_id=alice.id, purpose="photo", star_id=star_ids[1], size=50)
    return alice.id, star_ids[0], jobs


def _service(db: Database, forgotten: list[str] | None = None) -> AdminService:
    async def forget(user_id: str) -> None:
        assert forgotten is not None
        forgotten.append(user_id)
        await UserRepository(db).delete(user_id)

    return AdminService(AdminRepository(db), forget_user=forget)


async def test_stats_count_everything_by_status(db: Database) -> None:
    await _seed(db)
    stats = await _service(db).stats()
    assert stats.users == 2
    assert (stats.stars, stats.stars_by_status) == (2, {"active": 1, "retired": 1})
    assert (stats.meetings, stats.meetings_by_status) == (1, {"done": 1})
    assert stats.jobs_by_status == {"queued": 1, "running": 1, "done": 1, "failed": 1, "cancelled": 1}
    assert stats.queue_depth == 0


async def test_jobs_list_retry_and_cancel_follow_the_status_rules(db: Database) -> None:
    _, _, jobs = await _seed(db)
    admin = _service(db)
    listed = await admin.jobs()
    assert [j.status for j in listed] == ["cancelled", "failed", "done", "running", "queued"]  # newest first
    assert [j.id for j in await admin.jobs(status="failed")] == [jobs["failed"]]
    with pytest.raises(ValueError, match="status must be one of"):
        await admin.jobs(status="exploded")

    retried = await admin.retry_job(jobs["failed"])
    assert (retried.changed, retried.status) == (True, "queued")
    (job,) = [j for j in await admin.jobs(status="queued") if j.id == jobs["failed"]]
    assert (job.error, job.attempts, job.progress) == (None, 0, 0.0)
    assert (await admin.retry_job(jobs["cancelled"])).changed
    refused = await admin.retry_job(jobs["done"])
    assert (refused.changed, refused.status, refused.reason) == (
        False,
        "done",
        "a done job cannot be retried",
    )

    assert (await admin.cancel_job(jobs["running"])).status == "cancelled"
    assert (await admin.cancel_job(jobs["queued"])).status == "cancelled"
    again = await admin.cancel_job(jobs["queued"])
    assert (again.changed, again.reason) == (False, "a cancelled job cannot be cancelled")
    missing = await admin.cancel_job("nope")
    assert (missing.changed, missing.status, missing.reason) == (False, None, "no such job")


async def test_user_holdings_by_id_or_platform_ref(db: Database) -> None:
    alice_id, star_id, _ = await _seed(db)
    admin = _service(db)
    held = await admin.user("telegram:1001")
    assert held is not None and held.user_id == alice_id
    assert held == await admin.user(alice_id)
    assert held.stars[0][0] == star_id and len(held.stars) == 2
    assert (held.chat_turns, held.meetings, held.jobs, held.voice_memories) == (3, 1, 5, 0)
    assert (held.blobs, held.blob_bytes) == (3, 150)  # the shared export once; meeting audio counted, unsized
    bob = await admin.user("discord:2002")
    assert bob is not None and (bob.stars, bob.blobs, bob.blob_bytes) == ([], 0, 0)
    assert await admin.user("telegram:9") is None
    assert await admin.user("no-such-id") is None


async def test_delete_user_goes_through_the_forget_path(db: Database) -> None:
    alice_id, _, _ = await _seed(db)
    forgotten: list[str] = []
    admin = _service(db, forgotten)
    deleted = await admin.delete_user("telegram:1001")
    assert deleted is not None and deleted.user_id == alice_id and len(deleted.stars) == 2
    assert forgotten == [alice_id]
    assert await admin.user(alice_id) is None
    assert await admin.delete_user(alice_id) is None
    assert forgotten == [alice_id]
    stats = await admin.stats()
    assert (stats.users, stats.stars, stats.meetings, sum(stats.jobs_by_status.values())) == (1, 0, 0, 0)


@pytest.mark.redis
async def test_queue_depth_reads_the_redis_queue(redis_url: str) -> None:
    from redis.asyncio import Redis

    key = f"vos-test-queue-{new_id()[:8]}"
    client = Redis.from_url(redis_url)
    try:
        depth = redis_queue_depth(redis_url, key)
        assert await depth() == 0
        await client.rpush(key, "job-1", "job-2", "job-3")
        assert await depth() == 3
        await client.delete(key)
        await client.xadd(key, {"job": "1"})
        assert await depth() == 1
    finally:
        await client.delete(key)
        await client.aclose()


async def test_retry_hands_the_job_to_the_distributed_queue(db: Database) -> None:
    _, _, jobs = await _seed(db)
    dispatched: list[str] = []

    async def dispatch(job_id: str) -> None:
        dispatched.append(job_id)

    service = AdminService(AdminRepository(db), forget_user=_no_forget, dispatch=dispatch)
    change = await service.retry_job(jobs["failed"])
    assert change.changed
    assert dispatched == [jobs["failed"]]
    assert not (await service.retry_job(jobs["done"])).changed
    assert dispatched == [jobs["failed"]]
    local = await _service(db).retry_job(jobs["cancelled"])
    assert local.changed
    assert "next start" in local.reason


async def _no_forget(user_id: str) -> None:
    raise AssertionError(user_id)
