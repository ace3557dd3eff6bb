"""A process killed in the middle of storing an upload, for the tests of what such a crash leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_WRITE_THEN_DIE = (
    "import os, signal, sys\n"
    "from pathlib import Path\n"
    "from core.storage.blobs import incoming_file\n"
    "with incoming_file(Path(sys.argv[1])) as (fd, _):\n"
    "    os.write(fd, sys.stdin.buffer.read())\n"
    "    os.kill(os.getpid(), signal.SIGKILL)\n"
)


def crash_while_writing(directory: Path, payload: bytes) -> None:
    """A process that dies by SIGKILL in the middle of storing an upload (its temporary copy written)."""
    done = subprocess.run(
        [sys.executable, "-c", _WRITE_THEN_DIE, str(directory)],
        input=payload,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert done.returncode == -9


def age(path: Path, seconds: float) -> None:
    """Make ``path`` look last written ``seconds`` ago."""
    old = time.time() - seconds
    os.utime(path, (old, old))
