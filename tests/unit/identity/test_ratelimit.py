from __future__ import annotations

from app.identity.ratelimit import TokenBuckets


def test_a_burst_then_a_wait_then_refill() -> None:
    buckets = TokenBuckets(per_minute=60, burst=3)
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a", now=0.0) == 1  # one token per second: wait 1 s
    assert buckets.take("b", now=0.0) == 0  # other callers are unaffected
    assert buckets.take("a", now=1.0) == 0
    assert buckets.take("a", now=1.0) >= 1


def test_the_wait_is_rounded_up_to_whole_seconds() -> None:
    buckets = TokenBuckets(per_minute=6, burst=1)  # one token per 10 s
    assert buckets.take("a", now=0.0) == 0
    assert buckets.take("a", now=0.0) == 10
    assert buckets.take("a", now=5.0) == 5
