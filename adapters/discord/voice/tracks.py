"""The meeting clock (placement by RTP time: ``jitter.py``; storage: ``storage.py``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from adapters.discord.voice.opus import SAMPLE_RATE


@dataclass(slots=True)
class MeetingClock:
    """Meeting time in samples since ``start`` (a ``time.monotonic()`` reading)."""

    start: float = field(default_factory=time.monotonic)
    sample_rate: int = SAMPLE_RATE

    def position(self, arrival: float) -> int:
        """The sample index on the meeting clock of a monotonic time."""
        return round((arrival - self.start) * self.sample_rate)
