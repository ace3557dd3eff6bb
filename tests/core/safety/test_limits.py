"""Rate limiter, queue bound and limit messages, with a fake clock."""

from __future__ import annotations

import pytest

from core.safety.limits import (
    QueueBound,
    QueueFull,
    RateLimiter,
    queue_full_message,
    rate_limited_message,
    upload_too_large_message,
    upload_within_limit,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_bursts_then_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_min=6, burst=3, clock=clock)  # one token every 10 s
    assert [limiter.allow("u1") for _ in range(3)] == [True, True, True]
    refused = limiter.check("u1")
    assert not refused
    assert refused.retry_after_s == pytest.approx(10.0)
    assert limiter.allow("u2")  # keys are independent
    clock.now += 4
    assert limiter.retry_after("u1") == pytest.approx(6.0)
    clock.now += 6
    assert limiter.allow("u1")
    assert not limiter.allow("u1")
    clock.now += 1000
    assert [limiter.allow("u1") for _ in range(4)] == [True, True, True, False]  # capped at burst


def test_limiter_forgets_oldest_keys_and_resets() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_min=1, burst=1, clock=clock, max_keys=2)
    assert limiter.allow("a")
    assert limiter.allow("b")
    assert limiter.allow("c")
    assert limiter.allow("a")  # "a" was evicted, so it starts full again
    assert not limiter.allow("c")
    limiter.reset("c")
    assert limiter.allow("c")
    with pytest.raises(ValueError, match="rate_per_min"):
        RateLimiter(rate_per_min=0, burst=1)


def test_queue_bound_total_and_per_key() -> None:
    bound = QueueBound(max_total=3, max_per_key=2)
    assert bound.try_acquire("u1")
    assert bound.try_acquire("u1")
    assert not bound.try_acquire("u1")
    assert bound.try_acquire("u2")
    assert not bound.try_acquire("u3")
    bound.release("u1")
    with bound.slot("u3"):
        assert bound.total == 3
        assert bound.held("u3") == 1
        with pytest.raises(QueueFull), bound.slot("u4"):
            pass
    assert bound.total == 2
    assert bound.held("u3") == 0
    with pytest.raises(ValueError, match="holds no slot"):
        bound.release("nobody")


def test_limit_messages_in_both_locales() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_min=2, burst=1, clock=clock)
    limiter.allow("u")
    decision = limiter.check("u")
    assert decision.retry_after_whole_s == 30
    assert "30" in rate_limited_message("ko", decision)
    assert "30 s" in rate_limited_message("en", decision)
    assert rate_limited_message("en", decision, kind="jobs") != rate_limited_message("en", decision)
    assert queue_full_message("ko")
    assert queue_full_message("en") != queue_full_message("ko")
    assert upload_within_limit(10, 20)
    assert not upload_within_limit(21, 20)
    assert "25.0" in upload_too_large_message("en", 25 * 1024 * 1024, 20 * 1024 * 1024)
