"""The "you are talking with an AI" reminder during long conversations.

New York's companion-chatbot law and California's SB 243 ask for the AI disclosure at the start and at least
every three hours of continued use. The first turn ever gets the full notice (``chat.ai_notice``); after
that, a turn comes with the reminder once ``hours`` have passed since the last one. Times live in this
process: a user whose chat moves to a new process (a restart) is reminded on their next turn, which errs
on the side of saying it once too often.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_HOURS = 3.0


class AiReminder:
    """When each (user, star) conversation was last told it is an AI."""

    def __init__(self, hours: float = DEFAULT_HOURS, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = hours * 3600.0
        self.clock = clock
        self._last: dict[tuple[str, str], float] = {}

    def told(self, user_id: str, star_id: str) -> None:
        """The notice was just given."""
        self._last[(user_id, star_id)] = self.clock()

    def withheld(self, user_id: str, star_id: str) -> None:
        """A notice counted by ``due`` was not given after all (a crisis hand-off took the turn)."""
        self._last.pop((user_id, star_id), None)

    def due(self, user_id: str, star_id: str) -> bool:
        """Whether this turn should carry the reminder (and, if so, count it as given)."""
        if self.interval_s <= 0:
            return False
        now = self.clock()
        last = self._last.get((user_id, star_id))
        if last is not None and now - last < self.interval_s:
            return False
        if len(self._last) > 100_000:  # a busy bot: forget the oldest half rather than grow forever
            for key in sorted(self._last, key=self._last.__getitem__)[:50_000]:
                del self._last[key]
        self._last[(user_id, star_id)] = now
        return True
