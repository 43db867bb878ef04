"""A synthetic, deterministic volunteer population around a town centre, for demos and
benchmarks: realistic mixes of travel, skills, languages, capacity, availability and
vetting (including lapsed checks). Pure: the same number always gives the same person."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from app.volunteers.availability import Availability, WeeklyWindow

TOWN_CENTRE = (51.4543, -0.9781)  # Reading, Berkshire (lat, lon): the demo borough
TRAVEL = (
    ("walk", 0.25, (1.0, 3.0)),
    ("cycle", 0.2, (3.0, 8.0)),
    ("public_transport", 0.25, (4.0, 12.0)),
    ("car", 0.3, (5.0, 25.0)),
)
SKILLS = (
    ("shopping", 40),
    ("prescription_collection", 30),
    ("befriending", 25),
    ("telephone_befriending", 25),
    ("driving", 15),
    ("escort_to_appointment", 12),
    ("dog_walking", 10),
    ("gardening", 8),
    ("digital_help", 10),
    ("form_filling", 6),
    ("cooking", 6),
    ("mentoring", 5),
    ("family_support", 5),
    ("youth_work", 4),
    ("interpreting", 3),
    ("first_aid", 8),
    ("wheelchair_assistance", 3),
)
# Reading's most spoken languages after English.
LANGUAGES = (("pl", 6), ("pa", 3), ("ur", 3), ("ro", 2), ("ne", 2), ("hi", 2), ("so", 1))
VETTING = (
    ("none", 10),
    ("basic", 30),
    ("standard", 15),
    ("enhanced", 10),
    ("enhanced_children", 12),
    ("enhanced_adults", 12),
    ("enhanced_both", 6),
    ("lapsed", 5),
)


@dataclass(frozen=True)
class DemoVolunteer:
    subject: str
    display_name: str
    lat: float
    lon: float
    travel_mode: str
    max_travel_km: float
    skills: list[str]
    languages: list[str]
    max_hours_per_week: int
    max_active_assignments: int
    availability: Availability
    orgs: list[int]  # indexes into the demo organisations
    status: str
    vetting_level: str
    checked_on: date | None


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _availability(rng: random.Random) -> Availability:
    pattern = rng.choice(("weekday_mornings", "evenings", "weekends", "flexible", "one_day"))
    days = {
        "weekday_mornings": range(1, 6),
        "evenings": range(1, 6),
        "weekends": (6, 7),
        "flexible": range(1, 8),
        "one_day": (rng.randint(1, 7),),
    }[pattern]
    hours = {
        "weekday_mornings": (9, 12),
        "evenings": (17, 20),
        "weekends": (10, 16),
        "flexible": (9, 18),
        "one_day": (10, 15),
    }[pattern]
    return Availability(weekly=[WeeklyWindow(day, time(hours[0]), time(hours[1])) for day in days])


def volunteer(n: int, *, centre: tuple[float, float], orgs: int, today: date) -> DemoVolunteer:
    rng = random.Random(n)  # noqa: S311 - deterministic synthetic data, not secrets
    mode, _, (low, high) = rng.choices(TRAVEL, weights=[w for _, w, _ in TRAVEL])[0]
    skills = sorted({_weighted(rng, SKILLS) for _ in range(rng.randint(1, 4))})
    languages = ["en"] + ([_weighted(rng, LANGUAGES)] if rng.random() < 0.2 else [])
    level = _weighted(rng, VETTING)
    lapsed = level == "lapsed"
    checked = today - timedelta(days=rng.randint(30, 900)) if level != "none" else None
    if lapsed:
        level, checked = "enhanced", today - timedelta(days=rng.randint(1200, 1600))
    home = [rng.randrange(orgs)]
    if rng.random() < 0.25:
        home.append((home[0] + 1) % orgs)
    return DemoVolunteer(
        subject=f"demo-volunteer-{n:04d}",
        display_name=f"Volunteer {n:04d}",
        lat=round(centre[0] + rng.gauss(0, 0.025), 6),
        lon=round(centre[1] + rng.gauss(0, 0.04), 6),
        travel_mode=mode,
        max_travel_km=round(rng.uniform(low, high), 1),
        skills=skills,
        languages=languages,
        max_hours_per_week=rng.randint(2, 12),
        max_active_assignments=rng.randint(1, 4),
        availability=_availability(rng),
        orgs=home,
        status=rng.choices(("approved", "pending", "suspended"), weights=(88, 10, 2))[0],
        vetting_level=level,
        checked_on=checked,
    )


def profile_row(v: DemoVolunteer, user_id: Any) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "display_name": v.display_name,
        "home": f"SRID=4326;POINT({v.lon} {v.lat})",
        "max_travel_km": v.max_travel_km,
        "travel_mode": v.travel_mode,
        "skills": v.skills,
        "languages": v.languages,
        "max_hours_per_week": v.max_hours_per_week,
        "max_active_assignments": v.max_active_assignments,
    }
