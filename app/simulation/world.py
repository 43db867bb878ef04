"""The simulated borough: who volunteers and what is asked of them over the week. Pure (no
I/O): `generate(model, seed)` gives the same world for the same seed.

The defaults are drawn from NHS Volunteer Responders (2020-21), scaled to one borough:
about 2,000 registered volunteers of whom a third turn "on duty" in a given week, most of
them walking or driving short distances; demand dominated by shopping and prescription
collection, then transport to appointments and befriending, with a long tail of skilled
and group work. Every share below is a parameter of `WorldModel` and can be overridden
from a TOML or JSON file (`codeliver simulate --world FILE`). They are stated assumptions,
not measurements of any real borough (docs/simulation.md).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields, replace
from typing import Any

# Reading town centre: the demo borough's centre (app/demo_population.py).
CENTRE = (51.4543, -0.9781)
KM_PER_DEG_LAT = 111.32


@dataclass(frozen=True)
class Kind:
    """A kind of need: its programme, mode, skills, vetting, size and cadence."""

    share: float
    programme: str  # a key of PROGRAMMES
    remote: bool = False
    skills: tuple[str, ...] = ()
    vetting: str = "none"
    minutes: int = 60
    slots: int = 1
    weekly_series: int = 0  # occurrences of a weekly series (0: a one-off)


# The programmes of the borough: (programme kind, minimum vetting).
PROGRAMMES: dict[str, tuple[str, str]] = {
    "errands": ("community_support", "none"),
    "families": ("family_intervention", "enhanced"),
    "expertise": ("co_production", "none"),
    "design": ("co_design", "none"),
}

KINDS: dict[str, Kind] = {
    "shopping": Kind(0.30, "errands", skills=("shopping",)),
    "prescription": Kind(0.24, "errands", skills=("prescription_collection",), minutes=45),
    "transport": Kind(0.12, "errands", skills=("driving",), minutes=120),
    "befriending": Kind(
        0.08, "errands", skills=("befriending",), vetting="enhanced", weekly_series=4
    ),
    "family_mentoring": Kind(
        0.04, "families", skills=("mentoring",), vetting="enhanced", minutes=90, weekly_series=6
    ),
    "group_session": Kind(0.05, "errands", minutes=120, slots=4),
    "expert_review": Kind(0.08, "expertise", remote=True, skills=("expert_review",)),
    "crowd_task": Kind(
        0.05, "expertise", remote=True, skills=("data_classification",), minutes=30, slots=10
    ),
    "co_design": Kind(0.04, "design", skills=("workshop_participation",), minutes=150, slots=6),
}


def _default_modes() -> dict[str, float]:
    return {"walk": 0.35, "cycle": 0.1, "public_transport": 0.15, "car": 0.4}


def _default_radius() -> dict[str, float]:
    return {"walk": 2.0, "cycle": 5.0, "public_transport": 6.0, "car": 10.0}


def _default_skills() -> dict[str, float]:
    return {
        "shopping": 0.8,
        "prescription_collection": 0.7,
        "driving": 0.35,
        "befriending": 0.3,
        "mentoring": 0.08,
        "expert_review": 0.06,
        "data_classification": 0.15,
        "workshop_participation": 0.12,
    }


def _default_languages() -> dict[str, float]:
    return {"pl": 0.05, "pa": 0.04, "ur": 0.04, "ro": 0.03}


def _default_vetting() -> dict[str, float]:
    return {"none": 0.45, "basic": 0.2, "enhanced": 0.28, "enhanced_lapsed": 0.07}


def _default_patterns() -> dict[str, float]:
    return {"anytime": 0.2, "daytime": 0.35, "evenings": 0.25, "weekends": 0.2}


def _default_urgency() -> dict[str, float]:
    return {"low": 0.2, "normal": 0.55, "high": 0.15, "urgent": 0.1}


def _default_hour_profile() -> tuple[float, ...]:
    # Share of the day's needs posted in each UTC hour: office hours, a morning peak.
    return (0, 0, 0, 0, 0, 0, 0.5, 1, 3, 5, 5, 4, 3, 3, 4, 3, 3, 2, 1, 1, 0.5, 0.5, 0, 0)


# Weekly availability windows per pattern: (ISO weekdays, start hour, end hour), local time.
PATTERNS: dict[str, tuple[tuple[int, ...], int, int]] = {
    "anytime": ((1, 2, 3, 4, 5, 6, 7), 7, 22),
    "daytime": ((1, 2, 3, 4, 5), 9, 17),
    "evenings": ((1, 2, 3, 4, 5, 6, 7), 17, 22),
    "weekends": ((6, 7), 9, 18),
}


@dataclass(frozen=True)
class WorldModel:
    """Every assumption about the borough, in one place (docs/simulation.md)."""

    volunteers: int = 2000
    days: int = 7
    borough_km: float = 6.0  # volunteers and clients live within this radius of the centre
    needs_per_volunteer_day: float = 0.05  # 2,000 volunteers: 100 needs a day
    on_duty_share: float = 0.3
    quiet_hours_share: float = 0.6  # quiet 22:00-07:00
    language_need_share: float = 0.08  # needs asking for a language besides English
    hours_per_week: tuple[int, ...] = (2, 4, 6, 10)
    active_caps: tuple[int, ...] = (1, 2, 3)
    travel_modes: dict[str, float] = field(default_factory=_default_modes)
    radius_km: dict[str, float] = field(default_factory=_default_radius)
    skills: dict[str, float] = field(default_factory=_default_skills)
    languages: dict[str, float] = field(default_factory=_default_languages)
    vetting: dict[str, float] = field(default_factory=_default_vetting)
    patterns: dict[str, float] = field(default_factory=_default_patterns)
    urgency: dict[str, float] = field(default_factory=_default_urgency)
    hour_profile: tuple[float, ...] = field(default_factory=_default_hour_profile)
    kinds: dict[str, Kind] = field(default_factory=lambda: dict(KINDS))

    def overridden(self, values: dict[str, Any]) -> WorldModel:
        """This model with `values` (from a file or flags) in place of the defaults."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown world model settings: {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name == "kinds":
                changes[name] = {**self.kinds, **{k: Kind(**v) for k, v in value.items()}}
            elif isinstance(getattr(self, name), tuple):
                changes[name] = tuple(value)
            else:
                changes[name] = value
        return replace(self, **changes)


@dataclass(frozen=True)
class VolunteerSpec:
    n: int
    subject: str
    lat: float
    lon: float
    mode: str
    radius_km: float
    skills: tuple[str, ...]
    languages: tuple[str, ...]  # besides English
    vetting: str  # a DbsLevel value
    vetting_lapsed: bool
    pattern: str  # a key of PATTERNS
    quiet: bool  # quiet hours 22:00-07:00
    hours_per_week: int
    active_cap: int
    on_duty: bool


@dataclass(frozen=True)
class NeedSpec:
    n: int
    kind: str
    posted_s: float  # seconds after the start of the week
    start_s: float  # the window's start, seconds after the start of the week
    lat: float
    lon: float
    urgency: str
    languages: tuple[str, ...]
    client: int  # which client (index)


@dataclass(frozen=True)
class World:
    model: WorldModel
    seed: int
    volunteers: tuple[VolunteerSpec, ...]
    needs: tuple[NeedSpec, ...]
    clients: int


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _place(rng: random.Random, km: float) -> tuple[float, float]:
    """Uniform over a disc of `km` around the centre."""
    r, theta = km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    lat = CENTRE[0] + r * math.cos(theta) / KM_PER_DEG_LAT
    lon = CENTRE[1] + r * math.sin(theta) / (KM_PER_DEG_LAT * math.cos(math.radians(CENTRE[0])))
    return round(lat, 6), round(lon, 6)


def _volunteer(rng: random.Random, m: WorldModel, n: int) -> VolunteerSpec:
    lat, lon = _place(rng, m.borough_km)
    mode = _pick(rng, m.travel_modes)
    vetting = _pick(rng, m.vetting)
    return VolunteerSpec(
        n=n,
        subject=f"sim-volunteer-{n:05d}",
        lat=lat,
        lon=lon,
        mode=mode,
        radius_km=round(m.radius_km[mode] * rng.uniform(0.6, 1.4), 1),
        skills=tuple(s for s, p in m.skills.items() if rng.random() < p),
        languages=tuple(c for c, p in m.languages.items() if rng.random() < p),
        vetting=vetting.removesuffix("_lapsed"),
        vetting_lapsed=vetting.endswith("_lapsed"),
        pattern=_pick(rng, m.patterns),
        quiet=rng.random() < m.quiet_hours_share,
        hours_per_week=rng.choice(m.hours_per_week),
        active_cap=rng.choice(m.active_caps),
        on_duty=rng.random() < m.on_duty_share,
    )


# Lead time from posting to the window's start, by urgency: (shortest, longest) hours.
LEAD_HOURS = {"urgent": (1, 3), "high": (3, 12), "normal": (12, 48), "low": (24, 96)}


DAY_HOURS = (8, 20)  # windows start in the day: a night-time start moves to the next morning


def _daytime(at_s: float, rng: random.Random) -> float:
    hour = (at_s / 3600) % 24
    first, last = DAY_HOURS
    if first <= hour < last:
        return at_s
    morning = at_s + ((first - hour) % 24) * 3600
    return morning + rng.uniform(0, 3) * 3600


def _need(rng: random.Random, m: WorldModel, n: int, clients: int) -> NeedSpec:
    kind = _pick(rng, {k: v.share for k, v in m.kinds.items()})
    day = rng.randrange(m.days)
    hour = rng.choices(range(24), weights=m.hour_profile)[0]
    posted = (day * 24 + hour) * 3600 + rng.uniform(0, 3600)
    urgency = "normal" if m.kinds[kind].weekly_series else _pick(rng, m.urgency)
    low, high = LEAD_HOURS[urgency]
    start = _daytime(posted + rng.uniform(low, high) * 3600, rng)
    start = math.ceil(start / 900) * 900  # windows start on the quarter hour
    lat, lon = _place(rng, m.borough_km)
    wants_language = rng.random() < m.language_need_share and not m.kinds[kind].slots > 1
    languages = (rng.choice(list(m.languages)),) if wants_language and m.languages else ()
    return NeedSpec(n, kind, posted, start, lat, lon, urgency, languages, rng.randrange(clients))


def generate(model: WorldModel, seed: int) -> World:
    """The borough for `seed`: volunteers first, then the week's needs in posting order."""
    rng = random.Random(seed)
    vols = tuple(_volunteer(rng, model, n) for n in range(model.volunteers))
    count = round(model.volunteers * model.needs_per_volunteer_day * model.days)
    clients = max(1, count // 2)
    needs = sorted((_need(rng, model, n, clients) for n in range(count)), key=lambda s: s.posted_s)
    return World(model, seed, vols, tuple(needs), clients)


def available(v: VolunteerSpec, weekday: int, start_hour: float, end_hour: float) -> bool:
    """Whether the volunteer's weekly pattern covers [start_hour, end_hour) on an ISO
    weekday (local time)."""
    days, first, last = PATTERNS[v.pattern]
    return weekday in days and first <= start_hour and end_hour <= last


EARTH_RADIUS_KM = 6371.0088  # the mean radius


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), independent of PostGIS: the invariants' oracle."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
