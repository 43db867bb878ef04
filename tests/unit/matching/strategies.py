"""Needs and candidates for the matching tests: a fit baseline, and random ones for properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from matching.model import Candidate, History, Mode, Need, TravelMode, Urgency
from matching.vetting import DbsLevel, Vetting

TODAY = date(2026, 11, 28)
NEED_ID = UUID(int=1)
CLIENT_ID = UUID(int=2)
VOLUNTEER_ID = UUID(int=3)
SKILLS = ("driving", "first_aid", "wheelchair")
LANGUAGES = ("en", "cy", "pl")
KINDS = ("befriending", "transport", "shopping")


def need(**changes: Any) -> Need:
    """An in-person, normal-urgency befriending visit that `candidate()` fits."""
    base = Need(
        id=NEED_ID,
        mode=Mode.IN_PERSON,
        kind="befriending",
        required_skills=frozenset({"first_aid"}),
        languages=frozenset({"en"}),
        min_vetting=DbsLevel.ENHANCED_ADULTS,
        starts_at=datetime(2026, 12, 1, 10, 0),
        last_day=TODAY + timedelta(days=30),
        duration_minutes=90,
        urgency=Urgency.NORMAL,
        open_slots=1,
        radius_m=10_000,
        client_id=CLIENT_ID,
    )
    return replace(base, **changes)


def vetting(**changes: Any) -> Vetting:
    base = Vetting(
        level=DbsLevel.ENHANCED_BOTH,
        checked_on=TODAY - timedelta(days=100),
        expires_on=TODAY + timedelta(days=265),
        id_verified=True,
    )
    return replace(base, **changes)


def candidate(**changes: Any) -> Candidate:
    """A volunteer who may take `need()`: every hard constraint met."""
    base = Candidate(
        volunteer_id=VOLUNTEER_ID,
        approved=True,
        distance_m=2_000,
        max_travel_m=5_000,
        travel_mode=TravelMode.CYCLE,
        vetting=vetting(),
        skills=frozenset({"first_aid", "driving"}),
        languages=frozenset({"en", "pl"}),
        available=True,
        on_duty=True,
        hours_committed=2.0,
        max_hours_per_week=8,
        active_assignments=1,
        max_active_assignments=3,
        conflicting=False,
        excluded=False,
        offered_before=False,
        assigned_before=False,
        preferred_kinds=frozenset({"befriending"}),
    )
    return replace(base, **changes)


def _mostly(value: bool) -> st.SearchStrategy[bool]:
    """`value` nine times in ten, so random candidates are often eligible."""
    return st.sampled_from([value] * 9 + [not value])


def _subset(items: tuple[str, ...]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(items), max_size=len(items))


days = st.integers(-60, 400).map(lambda d: TODAY + timedelta(days=d))
distances = st.floats(0, 40_000, allow_nan=False)

vettings = st.builds(
    Vetting,
    level=st.sampled_from(list(DbsLevel)),
    checked_on=st.none() | days,
    expires_on=st.none() | days,
    id_verified=_mostly(True),
    barred_children=_mostly(False),
    barred_adults=_mostly(False),
)

histories = st.builds(
    History,
    offers_recent=st.integers(0, 30),
    assignments_recent=st.integers(0, 10),
    offers_total=st.integers(0, 200),
    accepted_total=st.integers(0, 100),
    declined_total=st.integers(0, 100),
    expired_total=st.integers(0, 100),
    completed_total=st.integers(0, 100),
    no_shows_total=st.integers(0, 20),
    served_client=st.integers(0, 10),
)

needs = st.builds(
    Need,
    id=st.just(NEED_ID),
    mode=st.sampled_from(list(Mode)),
    kind=st.sampled_from(KINDS),
    required_skills=_subset(SKILLS[:2]),
    languages=_subset(LANGUAGES[:1]),
    min_vetting=st.sampled_from(list(DbsLevel)),
    starts_at=st.just(datetime(2026, 12, 1, 10, 0)),
    last_day=days,
    duration_minutes=st.integers(15, 480),
    urgency=st.sampled_from(list(Urgency)),
    open_slots=st.integers(1, 3),
    radius_m=st.none() | distances,
    client_id=st.none() | st.just(CLIENT_ID),
    continuity_volunteer_id=st.none() | st.uuids(),
)

candidates = st.builds(
    Candidate,
    volunteer_id=st.uuids(),
    approved=_mostly(True),
    distance_m=st.none() | distances,
    max_travel_m=distances,
    travel_mode=st.sampled_from(list(TravelMode)),
    vetting=st.none() | vettings,
    skills=_subset(SKILLS),
    languages=_subset(LANGUAGES),
    available=_mostly(True),
    on_duty=_mostly(True),
    hours_committed=st.floats(0, 40),
    max_hours_per_week=st.integers(0, 40),
    active_assignments=st.integers(0, 5),
    max_active_assignments=st.integers(0, 5),
    conflicting=_mostly(False),
    excluded=_mostly(False),
    offered_before=_mostly(False),
    assigned_before=_mostly(False),
    preferred_kinds=_subset(KINDS),
    history=histories,
)

# Variations on the fit baseline: random candidates alone are seldom eligible for anything.
fit_candidates = st.builds(
    candidate,
    volunteer_id=st.uuids(),
    distance_m=st.floats(0, 5_000),
    travel_mode=st.sampled_from(list(TravelMode)),
    on_duty=_mostly(True),
    max_hours_per_week=st.just(40),
    preferred_kinds=_subset(KINDS),
    history=histories,
)

candidate_lists = st.lists(
    fit_candidates | candidates, max_size=10, unique_by=lambda c: c.volunteer_id
)
