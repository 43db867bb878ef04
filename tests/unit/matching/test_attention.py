"""The caseworker's work queue (matching/attention.py): which needs want a person now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from matching.attention import SOON, Attention, NeedFacts, attention, order
from matching.status import NeedStatus

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _need(
    *,
    status: NeedStatus = NeedStatus.OPEN,
    slots: int = 1,
    filled: int = 0,
    starts_in: timedelta = timedelta(days=3),
    escalated: bool = False,
) -> NeedFacts:
    return NeedFacts(
        status=status,
        slots=slots,
        filled=filled,
        starts_at=NOW + starts_in,
        escalated_at=NOW - timedelta(hours=1) if escalated else None,
    )


def test_an_escalated_need_wants_a_person_whenever_it_starts() -> None:
    assert attention(_need(escalated=True), NOW) is Attention.ESCALATED
    assert attention(_need(escalated=True, starts_in=timedelta(days=30)), NOW) is (
        Attention.ESCALATED
    )


def test_an_unfilled_need_starting_within_a_day_is_in_the_queue_and_not_before() -> None:
    assert attention(_need(starts_in=SOON - timedelta(minutes=1)), NOW) is Attention.STARTS_SOON
    assert attention(_need(starts_in=SOON), NOW) is None
    partly = _need(
        status=NeedStatus.PARTIALLY_FILLED, slots=3, filled=2, starts_in=timedelta(hours=2)
    )
    assert attention(partly, NOW) is Attention.STARTS_SOON


@pytest.mark.parametrize(
    "status",
    [
        NeedStatus.FILLED,
        NeedStatus.IN_PROGRESS,
        NeedStatus.COMPLETED,
        NeedStatus.CANCELLED,
        NeedStatus.EXPIRED,
        NeedStatus.DRAFT,
    ],
)
def test_a_need_that_wants_nobody_is_not_in_the_queue(status: NeedStatus) -> None:
    assert (
        attention(_need(status=status, escalated=True, starts_in=timedelta(hours=1)), NOW) is None
    )


def test_a_full_or_started_need_is_not_in_the_queue() -> None:
    assert attention(_need(slots=2, filled=2, escalated=True), NOW) is None
    assert attention(_need(starts_in=timedelta(0), escalated=True), NOW) is None
    assert attention(_need(starts_in=-timedelta(hours=1)), NOW) is None


def test_escalated_come_first_then_the_soonest() -> None:
    needs = [
        _need(starts_in=timedelta(hours=3)),
        _need(escalated=True, starts_in=timedelta(days=5)),
        _need(starts_in=timedelta(hours=1)),
        _need(escalated=True, starts_in=timedelta(days=2)),
    ]
    queued = sorted(needs, key=lambda n: order(n, attention(n, NOW) or Attention.STARTS_SOON))
    assert [n.starts_at - NOW for n in queued] == [
        timedelta(days=2),
        timedelta(days=5),
        timedelta(hours=1),
        timedelta(hours=3),
    ]
