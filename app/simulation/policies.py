"""The dispatch policies compared by the simulated week. A policy is configuration of the
product (a programme patch and the needs' dispatch), never simulator code."""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from app.programmes.schemas import ProgrammePatch
from matching.model import Dispatch


@dataclass(frozen=True)
class Policy:
    name: str
    label: str
    dispatch: Dispatch
    patch: ProgrammePatch | None = None  # applied to every programme of the copy
    nightly_plan: bool = False  # POST /v1/plans + commit at 02:00 each night


CASCADE = Policy("cascade", "Codeliver cascade", Dispatch.AUTO)
# Alert everyone eligible within radius at once, first to accept wins: one wave, as wide
# as the product allows (50 per open slot, capped at 500 alerts).
NEAREST_FIRST = Policy(
    "nearest_first",
    "Nearest-first broadcast",
    Dispatch.AUTO,
    ProgrammePatch(wave_size=50, alert_cap=500, max_waves=1),
)
OPEN_CALL = Policy("open_call", "First-come open call", Dispatch.OPEN_CALL)
NIGHTLY_PLAN = Policy("nightly_plan", "Nightly batch plan", Dispatch.MANUAL, nightly_plan=True)

POLICIES = (CASCADE, NEAREST_FIRST, OPEN_CALL, NIGHTLY_PLAN)
BY_NAME = {p.name: p for p in POLICIES}

_VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]{0,20}")
_VARIANT_FIELDS = ("wave_size", "offer_timeout_s", "alert_cap", "max_waves")


def variant(spec: str) -> Policy:
    """A cascade under other programme settings, compared side by side with the rest:
    `NAME:wave_size=2,offer_timeout_s=1800` (the fields of `PATCH /v1/programmes/{id}`
    that steer the cascade, validated as that endpoint validates them)."""
    name, _, settings = spec.partition(":")
    if not _VARIANT_NAME.fullmatch(name):
        raise ValueError(f"variant {spec!r}: a name of a-z, 0-9 and _ first, then ':'")
    values: dict[str, int] = {}
    for item in filter(None, settings.split(",")):
        key, _, value = item.partition("=")
        if key not in _VARIANT_FIELDS or not value.isdigit():
            raise ValueError(f"variant {spec!r}: {item!r} is not one of {_VARIANT_FIELDS}=N")
        values[key] = int(value)
    if not values:
        raise ValueError(f"variant {spec!r}: no settings given")
    try:
        patch = msgspec.convert(values, ProgrammePatch)
    except msgspec.ValidationError as error:
        raise ValueError(f"variant {spec!r}: {error}") from None
    label = "Cascade, " + ", ".join(f"{k} {v}" for k, v in values.items())
    return Policy(f"cascade_{name}", label, Dispatch.AUTO, patch)
