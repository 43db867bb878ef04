"""The quick simulated day (`codeliver simulate --quick`) on the private test cluster: every
invariant holds under every policy, the report agrees with GET /v1/metrics/summary, and
Codeliver's cascade needs fewer alerts per filled slot than nearest-first broadcast.

An invariant that main breaks again is marked expected-to-fail in KNOWN with the defect that
breaks it (issue 12, section 2), until its fix lands."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.cli import parser
from app.simulation import simulate
from app.simulation.command import options
from app.simulation.invariants import RULES
from app.simulation.policies import POLICIES
from infra.localdb import ClusterState, LocalCluster
from tests.conftest import ROOT

# (policy, rule) -> the defect that breaks it on main today, marked expected-to-fail. Empty
# since main has the accept and claim rules (issue 12, defects 1, 7, 8) and the clock
# conversion: the quick day breaks no invariant under any policy.
KNOWN: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def day(cluster: ClusterState) -> dict[str, Any]:
    args = parser().parse_args(["simulate", "--quick", "--seed", "1"])
    local = LocalCluster(ROOT / ".state" / "test-pg")
    return asyncio.run(simulate(local, cluster, options(args)))


def _cases() -> list[Any]:
    cases = []
    for policy in POLICIES:
        for rule in RULES:
            known = KNOWN.get((policy.name, rule))
            marks = [pytest.mark.xfail(reason=known, strict=False)] if known else []
            cases.append(pytest.param(policy.name, rule, marks=marks, id=f"{policy.name}-{rule}"))
    return cases


@pytest.mark.parametrize(("policy", "rule"), _cases())
def test_invariant_holds(day: dict[str, Any], policy: str, rule: str) -> None:
    broken = day["policies"][policy]["invariants"].get(rule)
    assert broken is None, f"{broken['count']} violations, first: {broken['first']}"


@pytest.mark.parametrize("policy", [p.name for p in POLICIES])
def test_report_agrees_with_the_metrics_summary(day: dict[str, Any], policy: str) -> None:
    r = day["policies"][policy]
    assert r["agrees_with_metrics"], (r["offers"], r["offers_gini"], r["metrics_summary"])


def test_cascade_needs_fewer_alerts_per_filled_slot_than_nearest_first(
    day: dict[str, Any],
) -> None:
    cascade, broadcast = day["policies"]["cascade"], day["policies"]["nearest_first"]
    assert cascade["filled_slots"] > 0
    assert cascade["alerts_per_filled_slot"] < broadcast["alerts_per_filled_slot"]


def test_every_filled_need_was_one_someone_eligible_would_accept(day: dict[str, Any]) -> None:
    """The ceiling is sound: a need filled under any policy had enough eligible volunteers
    whose seeded answer is yes (answers are the same under every policy)."""
    for name, r in day["policies"].items():
        assert r["fillable_needs"] <= r["feasible_needs"], name
        assert r["filled_fillable"] == r["filled_feasible"], name


def test_the_day_posted_and_filled_needs_under_every_policy(
    day: dict[str, Any],
) -> None:
    assert day["needs_posted"] >= 20
    for name, r in day["policies"].items():
        assert r["feasible_needs"] > 0, name
        # The nightly plan reaches only needs posted before its 02:00 run: a one-day world
        # whose clock starts after 19:00 posts none by then (office hours), so how much it
        # fills depends on the hour the suite runs (measured: starts 17:00 and 18:00 fill
        # one need, 19:00-21:00 none). Its invariants are checked above all the same.
        if name != "nightly_plan":
            assert r["filled_feasible"] > 0, name


def test_the_caseworker_sends_the_next_wave_after_an_escalation(day: dict[str, Any]) -> None:
    """Escalated needs go to a person, who tries again (the simulation's caseworker, through
    the same use case as `POST /v1/needs/{id}/offers`), at most `follow_ups` times a need."""
    cascade = day["policies"]["cascade"]
    assert sum(cascade["escalations"].values()) > 0
    assert 0 < cascade["follow_ups"] <= 2 * cascade["needs"]
    assert cascade["filled_after_follow_up"] <= cascade["filled_feasible"]
    assert day["policies"]["open_call"]["follow_ups"] == 0  # nothing escalates there
