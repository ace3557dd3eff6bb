"""Per-user limits: a token-bucket rate limiter for messages and heavy jobs, a bound on queued work, and an
upload size check, each with a user-facing message.

All in memory and single-process, like the default deployment; the clock is injectable so tests do not sleep.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from core.domain.identity import Locale
from core.i18n import t

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True, kw_only=True)
class RateDecision:
    """Whether one more event may go now, and if not, how many seconds until it may."""

    allowed: bool
    retry_after_s: float = 0.0

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def retry_after_whole_s(self) -> int:
        """Seconds to wait, rounded up, for messages."""
        return max(1, math.ceil(self.retry_after_s)) if not self.allowed else 0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: ``burst`` events at once, refilled at ``rate_per_min`` per minute.

    ``max_keys`` bounds memory: the least recently seen keys are forgotten first (a forgotten key starts
    with a full bucket, which only ever errs toward letting a user through).
    """

    def __init__(
        self, rate_per_min: float, burst: int, *, clock: Clock = time.monotonic, max_keys: int = 100_000
    ) -> None:
        if rate_per_min <= 0 or burst < 1:
            raise ValueError("rate_per_min must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_min / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def _refill(self, key: Hashable) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=self.burst, updated=now)
            self._buckets[key] = bucket
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
            bucket.updated = now
            self._buckets.move_to_end(key)
        return bucket

    def check(self, key: Hashable, cost: float = 1.0) -> RateDecision:
        """Take ``cost`` tokens for ``key`` if available; otherwise say how long until they are."""
        bucket = self._refill(key)
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return RateDecision(allowed=True)
        return RateDecision(allowed=False, retry_after_s=(cost - bucket.tokens) / self.rate_per_s)

    def allow(self, key: Hashable) -> bool:
        """Shorthand for ``check(key).allowed``."""
        return self.check(key).allowed

    def retry_after(self, key: Hashable) -> float:
        """Seconds until ``key`` may send one more event (0 when it may now), without spending a token."""
        bucket = self._refill(key)
        return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / self.rate_per_s

    def reset(self, key: Hashable) -> None:
        """Forget ``key`` (for example after ``/forget_me``)."""
        self._buckets.pop(key, None)


class QueueFull(RuntimeError):
    """The work queue, or one user's share of it, is at its bound."""


class QueueBound:
    """Counts queued or running jobs, overall and per key, and refuses new ones past the bounds.

    ``with bound.slot(user_id): ...`` or ``try_acquire`` / ``release`` around a job's lifetime.
    """

    def __init__(self, max_total: int, max_per_key: int | None = None) -> None:
        self.max_total = max_total
        self.max_per_key = max_per_key
        self._total = 0
        self._per_key: dict[Hashable, int] = {}

    @property
    def total(self) -> int:
        """Jobs currently holding a slot."""
        return self._total

    def held(self, key: Hashable) -> int:
        """Slots ``key`` holds."""
        return self._per_key.get(key, 0)

    def try_acquire(self, key: Hashable) -> bool:
        """Take a slot for ``key``; False when a bound is reached."""
        if self._total >= self.max_total:
            return False
        if self.max_per_key is not None and self.held(key) >= self.max_per_key:
            return False
        self._total += 1
        self._per_key[key] = self.held(key) + 1
        return True

    def release(self, key: Hashable) -> None:
        """Give back one of ``key``'s slots."""
        count = self.held(key)
        if count == 0:
            raise ValueError(f"{key!r} holds no slot")
        self._total -= 1
        if count == 1:
            del self._per_key[key]
        else:
            self._per_key[key] = count - 1

    def slot(self, key: Hashable) -> _Slot:
        """A context manager holding one slot; raises ``QueueFull`` when none is free."""
        return _Slot(self, key)


class _Slot:
    __slots__ = ("_bound", "_key")

    def __init__(self, bound: QueueBound, key: Hashable) -> None:
        self._bound, self._key = bound, key

    def __enter__(self) -> None:
        if not self._bound.try_acquire(self._key):
            raise QueueFull(f"queue bound reached for {self._key!r}")

    def __exit__(self, *exc: object) -> None:
        self._bound.release(self._key)


def upload_within_limit(size_bytes: int, limit_bytes: int) -> bool:
    """Whether an upload of ``size_bytes`` is allowed."""
    return 0 <= size_bytes <= limit_bytes


def rate_limited_message(locale: Locale | str, decision: RateDecision, *, kind: str = "messages") -> str:
    """ "Too many messages/jobs, try again in N s" for a refused decision; ``kind`` is messages or jobs."""
    key = "safety.limits.too_many_jobs" if kind == "jobs" else "safety.limits.too_many_messages"
    return t(locale, key, seconds=decision.retry_after_whole_s)


def queue_full_message(locale: Locale | str) -> str:
    """The message for a refused job when the queue is at its bound."""
    return t(locale, "safety.limits.queue_full")


def upload_too_large_message(locale: Locale | str, size_bytes: int, limit_bytes: int) -> str:
    """The message for an upload over the size limit, sizes in MB with one decimal."""
    mb = 1024 * 1024
    return t(
        locale,
        "safety.limits.upload_too_large",
        size_mb=f"{size_bytes / mb:.1f}",
        limit_mb=f"{limit_bytes / mb:.0f}",
    )
