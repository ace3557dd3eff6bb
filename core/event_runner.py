"""One event's life, the same for every adapter: in order per user, within a deadline, never a traceback.

An adapter translates a platform update into core events and actions into platform calls; everything
around that is here, written once:

- **Order per user.** A user's events run one at a time, in the order they arrived (one lock per user,
  dropped when nobody waits for it); different users run concurrently.
- **The deadline.** An event that takes longer than ``deadline_s`` is cancelled (a meeting hand-over asks
  for more with ``extra_s``).
- **The apology.** Any failure is logged with its traceback under a short reference id, and the user is
  told that id (the adapter says it in its own words through ``apologise``); a failing apology is only
  logged. Failures the adapter expects (``quiet``: the user blocked the bot) skip both.

``stream`` hands an event to the engine and renders each action as soon as it arrives, closing the
engine's generator on the way out (a cancelled render never leaves an engine turn half open).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager

from core.domain.actions import Action
from core.domain.events import Event
from core.ports import EventHandler

log = logging.getLogger(__name__)

Apologise = Callable[[str], Awaitable[None]]
Render = Callable[[Action], Awaitable[None]]


def new_ref() -> str:
    """A short reference id for one failure: what the user is told and what the log line carries."""
    return uuid.uuid4().hex[:8]


def report_failure(logger: logging.Logger, what: str, *args: object) -> str:
    """Log the current exception under a new reference id (``what % args (ref …)``) and return the id."""
    ref = new_ref()
    logger.exception(f"{what} (ref %s)", *args, ref)
    return ref


class UserOrder:
    """One lock per user, so a user's events run in order while users run concurrently."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Hold ``key``'s lock (created on first use, dropped when nobody waits for it)."""
        lock, waiting = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, waiting + 1)
        try:
            async with lock:
                yield
        finally:
            lock, waiting = self._locks[key]
            if waiting == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, waiting - 1)

    def __len__(self) -> int:
        return len(self._locks)


class EventRunner:
    """Runs each adapter's event work in per-user order, within the deadline, ending in an apology on failure.

    ``name`` prefixes the log lines (``telegram``, ``discord``); ``logger`` is the adapter's own, so the
    filters it installs (the bot token never reaches a log line) apply to the tracebacks too.
    """

    def __init__(
        self,
        engine: EventHandler,
        *,
        deadline_s: float,
        name: str = "event",
        logger: logging.Logger | None = None,
    ) -> None:
        self.engine = engine
        self.deadline_s = deadline_s
        self.name = name
        self.log = logger or log
        self.order = UserOrder()

    async def run(
        self,
        user: Hashable | None,
        work: Callable[[], Awaitable[None]],
        *,
        apologise: Apologise,
        what: str = "event",
        extra_s: float = 0.0,
        quiet: tuple[type[BaseException], ...] = (),
        on_quiet: Callable[[BaseException], None] | None = None,
    ) -> str | None:
        """Run ``work`` in ``user``'s turn (None: no ordering) within the deadline (plus ``extra_s``).

        Returns None when it finished, else the reference id the user was given. ``quiet`` failures go to
        ``on_quiet`` instead (no traceback, no apology) and return None too.
        """
        try:
            if user is None:
                async with asyncio.timeout(self.deadline_s + extra_s):
                    await work()
            else:
                async with self.order.hold(user), asyncio.timeout(self.deadline_s + extra_s):
                    await work()
        except Exception as exc:
            if quiet and isinstance(exc, quiet):
                if on_quiet is not None:
                    on_quiet(exc)
                return None
            ref = report_failure(self.log, "%s: %s failed", self.name, what)
            await self.apologise(apologise, ref)
            return ref
        return None

    async def apologise(self, apologise: Apologise, ref: str) -> None:
        """Tell the user ``ref``; a failure to do so is logged, never raised."""
        try:
            await apologise(ref)
        except Exception:
            self.log.warning("%s: could not send the apology for ref %s", self.name, ref, exc_info=True)

    async def stream(self, event: Event, render: Render) -> None:
        """The engine's actions for ``event``, each rendered as soon as it arrives."""
        actions = self.engine.handle(event)
        try:
            async for action in actions:
                await render(action)
        finally:
            aclose = getattr(actions, "aclose", None)
            if aclose is not None:
                await aclose()
