"""The moves of an assignment: when check-in opens, the geofence, completion, withdrawal,
no-shows and outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from matching.assignments import (
    EARLY_CHECK_IN,
    check_in_refusal,
    completion_refusal,
    geofence_refusal,
    no_show_refusal,
    outcome_refusal,
    withdrawal_refusal,
)
from matching.model import AssignmentStatus as A
from matching.status import NeedStatus as N

START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=2)


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (START - EARLY_CHECK_IN - timedelta(seconds=1), False),
        (START - EARLY_CHECK_IN, True),
        (START + timedelta(hours=1), True),
        (END, True),
        (END + timedelta(seconds=1), False),
    ],
)
def test_check_in_opens_an_hour_early_and_closes_at_the_end(now: datetime, allowed: bool) -> None:
    assert (check_in_refusal(A.ACCEPTED, START, END, now) is None) is allowed


@pytest.mark.parametrize("status", [s for s in A if s is not A.ACCEPTED])
def test_only_an_accepted_assignment_checks_in(status: A) -> None:
    assert check_in_refusal(status, START, END, START) == (
        f"cannot check in to an assignment that is {status}"
    )


def test_the_geofence_says_how_far_away_the_volunteer_is() -> None:
    assert geofence_refusal(None, 200) is None  # remote: no distance
    assert geofence_refusal(200.0, 200) is None
    assert geofence_refusal(1234.0, 200) == "you are 1.2 km away: check in within 200 m of the need"


def test_completion_needs_a_check_in() -> None:
    assert completion_refusal(A.CHECKED_IN) is None
    assert completion_refusal(A.ACCEPTED) == "check in first"
    assert completion_refusal(A.COMPLETED) == "this assignment is completed"


@pytest.mark.parametrize("status", list(A))
def test_only_a_slot_not_yet_started_can_be_given_back(status: A) -> None:
    assert (withdrawal_refusal(status) is None) is (status is A.ACCEPTED)


def test_a_no_show_is_recorded_only_once_the_need_has_started() -> None:
    assert no_show_refusal(A.ACCEPTED, START, START - timedelta(minutes=1)) == (
        "the need has not started yet"
    )
    assert no_show_refusal(A.ACCEPTED, START, START) is None
    assert no_show_refusal(A.CHECKED_IN, START, END) is not None  # they came


@pytest.mark.parametrize("status", list(N))
def test_an_outcome_waits_until_someone_is_on_the_need(status: N) -> None:
    allowed = status in (N.FILLED, N.IN_PROGRESS, N.COMPLETED)
    assert (outcome_refusal(status) is None) is allowed
