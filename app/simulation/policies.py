"""The dispatch policies compared by the simulated week. A policy is configuration of the
product (a programme patch and the needs' dispatch), never simulator code."""

from __future__ import annotations

from dataclasses import dataclass

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
