from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.eligibility import check, eligible
from matching.model import Candidate, Mode, Need, Reason, Urgency
from matching.vetting import DbsLevel
from tests.unit.matching.strategies import (
    TODAY,
    candidate,
    candidate_lists,
    candidates,
    need,
    needs,
    vetting,
)

N = dict[str, Any]
# One hard constraint broken at a time: (reason, changes to need(), changes to candidate()).
ONE_BROKEN: list[tuple[Reason, N, N]] = [
    (Reason.NOT_APPROVED, {}, {"approved": False}),
    (Reason.TOO_FAR, {}, {"distance_m": 6_000}),
    (Reason.TOO_FAR, {"radius_m": 1_500}, {}),
    (Reason.TOO_FAR, {}, {"distance_m": None}),
    (Reason.VETTING_LEVEL, {}, {"vetting": None}),
    (Reason.VETTING_LEVEL, {}, {"vetting": vetting(level=DbsLevel.ENHANCED_CHILDREN)}),
    (Reason.VETTING_LEVEL, {}, {"vetting": vetting(id_verified=False)}),
    (Reason.VETTING_EXPIRED, {}, {"vetting": vetting(expires_on=TODAY + timedelta(days=30))}),
    (Reason.VETTING_EXPIRED, {}, {"vetting": vetting(expires_on=None)}),
    (Reason.BARRED, {}, {"vetting": vetting(barred_children=True)}),
    (Reason.BARRED, {"min_vetting": DbsLevel.NONE}, {"vetting": vetting(barred_adults=True)}),
    (Reason.SKILLS, {"required_skills": frozenset({"first_aid", "wheelchair"})}, {}),
    (Reason.LANGUAGES, {"languages": frozenset({"cy"})}, {}),
    (Reason.UNAVAILABLE, {}, {"available": False}),
    (Reason.OFF_DUTY, {"urgency": Urgency.URGENT}, {"on_duty": False}),
    (Reason.HOURS_CAP, {"duration_minutes": 6 * 60 + 1}, {}),
    (Reason.ASSIGNMENTS_CAP, {}, {"active_assignments": 3}),
    (Reason.MICRO_TASK_CAP, {"kind": "co_design"}, {"micro_tasks": 5}),
    (Reason.CONFLICT, {}, {"conflicting": True}),
    (Reason.EXCLUDED, {}, {"excluded": True}),
    (Reason.ALREADY_OFFERED, {}, {"offered_before": True}),
    (Reason.ALREADY_ASSIGNED, {}, {"assigned_before": True}),
]


def test_the_baseline_is_eligible() -> None:
    assert check(need(), candidate()).reasons == ()


def test_every_reason_is_reachable() -> None:
    assert {reason for reason, _, _ in ONE_BROKEN} == set(Reason)


@pytest.mark.parametrize(("reason", "need_changes", "candidate_changes"), ONE_BROKEN)
def test_one_broken_constraint_gives_its_reason(
    reason: Reason, need_changes: N, candidate_changes: N
) -> None:
    result = check(need(**need_changes), candidate(**candidate_changes))
    assert result.reasons == (reason,)
    assert not result.eligible


def test_all_broken_constraints_are_reported_in_order() -> None:
    c = candidate(approved=False, excluded=True, distance_m=9_000, available=False)
    assert check(need(), c).reasons == (
        Reason.NOT_APPROVED,
        Reason.TOO_FAR,
        Reason.UNAVAILABLE,
        Reason.EXCLUDED,
    )


def test_remote_needs_ignore_distance() -> None:
    remote = need(mode=Mode.REMOTE, radius_m=100)
    assert check(remote, candidate(distance_m=None)).eligible
    assert check(remote, candidate(distance_m=500_000)).eligible


def test_no_vetting_needed_means_no_check_needed() -> None:
    assert check(need(min_vetting=DbsLevel.NONE), candidate(vetting=None)).eligible
    lapsed = vetting(expires_on=TODAY - timedelta(days=1), id_verified=False)
    assert check(need(min_vetting=DbsLevel.NONE), candidate(vetting=lapsed)).eligible


def test_the_hours_cap_allows_exactly_reaching_it() -> None:
    assert check(need(duration_minutes=6 * 60), candidate()).eligible


def test_urgent_needs_go_only_to_volunteers_on_duty() -> None:
    assert check(need(urgency=Urgency.HIGH), candidate(on_duty=False)).eligible


@given(needs, candidates)
def test_reasons_are_unique_and_in_declaration_order(n: Need, c: Candidate) -> None:
    reasons = check(n, c).reasons
    order = list(Reason)
    assert list(reasons) == sorted(set(reasons), key=order.index)


@given(needs, candidates)
def test_vetting_reasons_agree_with_vetting_meets(n: Need, c: Candidate) -> None:
    vetting_reasons = {Reason.VETTING_LEVEL, Reason.VETTING_EXPIRED, Reason.BARRED}
    clear = not (set(check(n, c).reasons) & vetting_reasons)
    if c.vetting is None:
        assert clear is (n.min_vetting is DbsLevel.NONE)
    else:
        assert clear is c.vetting.meets(n.min_vetting, n.last_day)


@given(needs, candidate_lists, st.randoms())
def test_eligible_keeps_exactly_those_without_reasons(
    n: Need, cs: list[Candidate], rnd: random.Random
) -> None:
    kept = eligible(n, cs)
    assert kept == [c for c in cs if not check(n, c).reasons]
    rnd.shuffle(cs)
    assert {c.volunteer_id for c in eligible(n, cs)} == {c.volunteer_id for c in kept}
