"""Benchmark the distributed job queue (Redis + ``vos worker`` processes) against the local runner, with the
same trivial ``echo`` jobs in the same run.

Reports, for each runner:
- throughput: N jobs submitted at once, jobs/s until every final update reached the submitter;
- latency: one job at a time, submit → final update received (p50/p95); the difference between the two
  runners is the latency the queue adds (Redis round trips, the workers' polling, cross-process DB writes).

Usage: ``python bench/queue_throughput.py [--jobs 300] [--single 50] [--workers 2] [--per-worker 4]
[--database-url URL] [--redis-url redis://127.0.0.1:6379/0]`` (SQLite in a temporary directory by default).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.domain.identity import Locale, Platform, UserRef  # noqa: E402
from core.jobs.local import LocalJobQueue  # noqa: E402
from core.jobs.ports import JobQueue  # noqa: E402
from core.jobs.registry import JobRegistry, echo_job  # noqa: E402
from core.storage.db import Database  # noqa: E402
from core.storage.job_repository import JobRepository  # noqa: E402
from core.storage.migrate import upgrade  # noqa: E402
from core.storage.repositories import UserRepository  # noqa: E402


async def one(queue: JobQueue, owner: str, n: int) -> float:
    """Submit one echo job and wait for its final update; returns the seconds it took."""
    start = time.perf_counter()
    job_id = await queue.submit("echo", {"n": n}, owner_id=owner)
    async for update in queue.watch(job_id):
        if update.final:
            assert update.result == {"n": n}, update
    return time.perf_counter() - start


async def measure(queue: JobQueue, owner: str, jobs: int, single: int) -> dict[str, float]:
    """Throughput of ``jobs`` concurrent jobs, then latency of ``single`` sequential ones."""
    start = time.perf_counter()
    await asyncio.gather(*(one(queue, owner, i) for i in range(jobs)))
    throughput = jobs / (time.perf_counter() - start)
    latencies = sorted([await one(queue, owner, i) for i in range(single)])
    return {
        "jobs_per_s": throughput,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def start_workers(count: int, per_worker: int, db_url: str, redis_url: str, ns: str, data: Path) -> list[Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOS_")}
    env.update(
        PYTHONPATH=str(ROOT),
        VOS_DATA_DIR=str(data),
        VOS_DATABASE_URL=db_url,
        VOS_JOBS__BACKEND="redis",
        VOS_JOBS__REDIS_URL=redis_url,
        VOS_JOBS__QUEUE=ns,
        VOS_JOBS__WORKERS=str(per_worker),
        VOS_LOG_LEVEL="WARNING",
    )
    return [
        subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env) for _ in range(count)
    ]


async def wait_for_workers(queue: Any, count: int) -> None:
    for _ in range(600):
        if len(await queue.workers_alive()) >= count:
            return
        await asyncio.sleep(0.1)
    raise SystemExit("workers did not start")


async def main(args: argparse.Namespace) -> None:
    from core.jobs.redis_queue import RedisJobQueue, RedisQueueOptions

    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(db_url)
        db = Database(db_url)
        owner = (
            await UserRepository(db).get_or_create(
                UserRef(platform=Platform.CONSOLE, platform_user_id="bench"),
                display_name="b",
                locale=Locale.EN,
            )
        ).id
        registry = JobRegistry()
        registry.register("echo", echo_job)
        repo = JobRepository(db)
        results: dict[str, dict[str, float]] = {}

        local = LocalJobQueue(repo, registry, concurrency=args.workers * args.per_worker)
        results["local"] = await measure(local, owner, args.jobs, args.single)
        await local.aclose()

        ns = f"vosbench-{uuid.uuid4().hex[:8]}"
        remote = RedisJobQueue(
            repo, registry, RedisQueueOptions(url=args.redis_url, namespace=ns, block_ms=500)
        )
        procs = start_workers(args.workers, args.per_worker, db_url, args.redis_url, ns, Path(tmp) / "w")
        try:
            await remote.broker.startup()
            await wait_for_workers(remote, args.workers)
            results["redis"] = await measure(remote, owner, args.jobs, args.single)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=20)
            keys = [k async for k in remote.redis.scan_iter(f"{ns}*")]
            if keys:
                await remote.redis.delete(*keys)
            await remote.aclose()
            await db.dispose()

    print(f"{args.jobs} echo jobs at once, then {args.single} one at a time; database {db_url.split(':')[0]}")
    print(
        f"workers: local runner {args.workers * args.per_worker} at a time; "
        f"redis {args.workers} processes x {args.per_worker}"
    )
    print(f"{'runner':<8} {'jobs/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for name, r in results.items():
        print(f"{name:<8} {r['jobs_per_s']:8.1f} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f}")
    print(f"added latency (p50): {results['redis']['p50_ms'] - results['local']['p50_ms']:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--single", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per-worker", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
