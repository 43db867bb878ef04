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


def test_the_ledger_holds_what_was_taken_since_it_was_read() -> None:
    buckets = TokenBuckets(per_minute=60, burst=2)
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0, 0, 1]
    assert buckets.spent() == {"a": 2.0}  # a refusal spends nothing
    assert buckets.spent() == {}
    buckets.unspend({"a": 2.0})
    assert buckets.spent() == {"a": 2.0}


def test_settling_takes_the_shared_count_less_what_was_taken_since() -> None:
    buckets = TokenBuckets(per_minute=60, burst=3)
    assert buckets.take("a", now=0.0) == 0
    ledger = buckets.spent()
    assert buckets.take("a", now=0.0) == 0  # taken while the ledger was being settled
    buckets.settle("a", 3 - ledger["a"] - 2, now=0.0)  # another process spent 2
    assert buckets.wait("a", now=0.0) == 2  # 3 - 1 - 2 - 1 = -1: two seconds to one token
    assert buckets.spent() == {"a": 1.0}
