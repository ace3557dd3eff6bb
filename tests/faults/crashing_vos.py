"""``vos`` with scripted meeting engines that dies by SIGKILL when a meeting import reaches a stage.

Run as ``python -m tests.faults.crashing_vos STAGE vos-args...`` (``STAGE`` ``none``: never dies). Everything
but the engines is the real CLI, job runner and database: the test doubles replace only speech recognition
and diarization (no model in a subprocess), and the kill happens right after the stage was stored, as a
real kill -9 in the middle of that stage would leave it.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from core.storage.meeting_repository import MeetingRepository
from tests.core.meetings.fakes import MEETING_SEGMENTS, MEETING_TURNS, FakeDiarizer, FakeSTT


def main() -> None:
    """Patch the engines and the crash point, then run the CLI."""
    stage, args = sys.argv[1], sys.argv[2:]
    set_progress = MeetingRepository.set_progress

    async def progress_then_die(self: MeetingRepository, meeting_id: str, fraction: float, text: str) -> None:
        await set_progress(self, meeting_id, fraction, text)
        if text == stage:
            os.kill(os.getpid(), signal.SIGKILL)

    MeetingRepository.set_progress = progress_then_die  # type: ignore[method-assign]

    import bot.meetings

    def fake_service(*a: Any, **kw: Any) -> Any:
        service = build(*a, **kw)
        service.stt_factory = lambda: FakeSTT(MEETING_SEGMENTS)
        service.diarizer_factory = lambda: FakeDiarizer(MEETING_TURNS)
        return service

    build = bot.meetings.build_meeting_service
    bot.meetings.build_meeting_service = fake_service  # type: ignore[assignment]
    import bot.wiring

    bot.wiring.build_meeting_service = fake_service  # type: ignore[attr-defined]
    from bot.cli import main as vos

    sys.argv = ["vos", *args]
    vos()


if __name__ == "__main__":
    main()
