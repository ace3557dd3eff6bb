"""``vos worker`` processes for the distributed-queue tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REDIS_URL = os.environ.get("VOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[3]


class Workers:
    """``python -m bot worker`` processes on the test's queue; stopped at the end of the test."""

    def __init__(
        self,
        tmp_path: Path,
        db_url: str,
        redis_url: str,
        namespace: str,
        lease_s: float,
        jobs_module: str = "tests.core.jobs.sample_jobs",
    ) -> None:
        self.tmp_path = tmp_path
        self.jobs_module = jobs_module
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VOS_")},
            "PYTHONPATH": str(ROOT),
            "VOS_DATA_DIR": str(tmp_path / "worker-data"),
            "VOS_DATABASE_URL": db_url,
            "VOS_JOBS__BACKEND": "redis",
            "VOS_JOBS__REDIS_URL": redis_url,
            "VOS_JOBS__QUEUE": namespace,
            "VOS_JOBS__LEASE_S": str(lease_s),
            "VOS_LOG_LEVEL": "INFO",
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> list[subprocess.Popen[bytes]]:
        for _ in range(count):
            with (self.tmp_path / f"worker-{len(self.procs)}.log").open("wb") as log:
                self.procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "bot",
                            "worker",
                            "--jobs-module",
                            self.jobs_module,
                        ],
                        cwd=ROOT,
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        return self.procs

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp_path.glob("worker-*.log")))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
