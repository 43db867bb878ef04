"""What an accept and a claim re-check (issue #12): weekly hours on accept, an offer's every
rule on a claim, a series as one commitment, micro-tasks held to their own limit."""

from __future__ import annotations

from matching.eligibility import (
    MAX_OPEN_MICRO_TASKS,
    MICRO_TASK_KINDS,
    ON_ACCEPT,
    ON_CLAIM,
    blocking,
    check,
    is_micro_task,
    refusal,
)
from matching.model import ProgrammeKind, Reason
from tests.unit.matching.strategies import candidate, need


def test_an_accept_refuses_a_need_past_the_weekly_hours() -> None:
    # 6 h a week, 4 h already taken: a second 4-hour need would make 8 h
    c = candidate(hours_committed=4.0, max_hours_per_week=6)
    four_hours = need(duration_minutes=240)
    assert blocking(four_hours, c, ON_ACCEPT) == (Reason.HOURS_CAP,)
    words = refusal(four_hours, c, ON_ACCEPT)
    assert words is not None
    assert "hours_cap" in words
    assert "8 h that week, over your 6 h" in words


def test_an_accept_allows_exactly_the_weekly_hours() -> None:
    c = candidate(hours_committed=2.0, max_hours_per_week=6)
    assert refusal(need(duration_minutes=240), c, ON_ACCEPT) is None


def test_an_accept_does_not_recheck_distance_or_availability() -> None:
    c = candidate(distance_m=50_000, available=False)
    assert check(need(), c).reasons == (Reason.TOO_FAR, Reason.UNAVAILABLE)
    assert refusal(need(), c, ON_ACCEPT) is None


def test_a_claim_applies_every_rule_an_offer_applies() -> None:
    assert frozenset(Reason) - ON_CLAIM == {Reason.ALREADY_OFFERED}
    assert ON_ACCEPT < ON_CLAIM
    far = candidate(distance_m=33_000, max_travel_m=5_000)
    assert blocking(need(radius_m=None), far, ON_CLAIM) == (Reason.TOO_FAR,)
    busy = candidate(available=False, hours_committed=8.0)
    assert blocking(need(), busy, ON_CLAIM) == (Reason.UNAVAILABLE, Reason.HOURS_CAP)


def test_no_volunteer_record_is_not_approved() -> None:
    assert blocking(need(), None, ON_CLAIM) == (Reason.NOT_APPROVED,)
    assert refusal(need(), None, ON_ACCEPT) == "you do not meet this need: not_approved"


def test_micro_tasks_are_crowd_and_co_design() -> None:
    assert {ProgrammeKind.CO_PRODUCTION, ProgrammeKind.CO_DESIGN} == MICRO_TASK_KINDS
    assert is_micro_task("co_design")
    assert is_micro_task("co_production")
    assert not is_micro_task("family_intervention")
    assert not is_micro_task("befriending")


def test_micro_tasks_ignore_the_active_cap_and_have_their_own() -> None:
    at_cap = candidate(active_assignments=3, max_active_assignments=3)
    assert Reason.ASSIGNMENTS_CAP in check(need(), at_cap).reasons
    crowd = need(kind="co_production")
    assert check(crowd, at_cap).eligible
    assert check(crowd, candidate(micro_tasks=MAX_OPEN_MICRO_TASKS - 1)).eligible
    full = candidate(micro_tasks=MAX_OPEN_MICRO_TASKS)
    assert blocking(crowd, full, ON_ACCEPT) == (Reason.MICRO_TASK_CAP,)
    assert f"micro_task_cap ({MAX_OPEN_MICRO_TASKS} of {MAX_OPEN_MICRO_TASKS} open)" in str(
        refusal(crowd, full, ON_CLAIM)
    )
    # open micro-tasks do not stand in the way of ordinary work
    assert check(need(), full).eligible


def test_the_active_cap_counts_commitments() -> None:
    # the load counts a series once and leaves out the need's own series: a volunteer
    # holding two occurrences of this series and one other need has one commitment besides
    holding_series = candidate(active_assignments=1, max_active_assignments=2)
    assert check(need(), holding_series).eligible
    assert "assignments_cap (2 of 2)" in str(
        refusal(need(), candidate(active_assignments=2, max_active_assignments=2), ON_ACCEPT)
    )
