"""Wire shapes for batch plans: the coordinator's request, the proposal, the commit's counts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.offers.schemas import Explanation
from matching.plan_solver import Proof

Moment = Annotated[
    datetime,
    msgspec.Meta(
        tz=True, description="RFC 3339 with an offset, years 2000..2100, e.g. 2025-05-01T09:00Z"
    ),
]


class PlanIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Plan the programme's open needs whose windows overlap [from, to): at most 31 days."""

    programme_id: UUID
    from_: Moment = msgspec.field(name="from")
    to: Moment


class Choice(msgspec.Struct, kw_only=True):
    """One volunteer proposed for one need, and why."""

    need_id: UUID
    volunteer_id: UUID
    score: float
    cost: int  # how far the score falls short of a perfect match, in thousandths of a point
    distance_km: float | None
    travel_minutes: float | None
    explanation: list[Explanation]


class Solver(msgspec.Struct, kw_only=True):
    """How the plan was found (OR-Tools CP-SAT, matching/plan_solver.py) and how good it is
    proved to be. The objective, maximised, is `fill_weight * filled_slots - total_cost`."""

    status: Annotated[
        Proof,
        msgspec.Meta(
            description="optimal: proved best (no plan fills more slots, nor as many for "
            "less); feasible: the time limit ended the search first, see gap"
        ),
    ]
    objective: Annotated[int, msgspec.Meta(description="fill_weight * filled_slots - total_cost")]
    best_bound: Annotated[
        int, msgspec.Meta(description="no plan keeping the rules has a higher objective")
    ]
    gap: Annotated[
        float,
        msgspec.Meta(ge=0, description="(best_bound - objective) / |best_bound|: 0 if optimal"),
    ]
    fill_weight: Annotated[
        int, msgspec.Meta(description="what one filled slot is worth: more than any plan's cost")
    ]
    filled_bound: Annotated[
        int, msgspec.Meta(description="no plan keeping the rules fills more slots than this")
    ]
    time_limit_s: Annotated[float, msgspec.Meta(description="the search's time limit")]
    parts: Annotated[int, msgspec.Meta(description="independent parts of the need-volunteer graph")]
    parts_by_flow: Annotated[
        int,
        msgspec.Meta(
            description="parts where the min-cost flow (no clash or hours rules) already "
            "kept every rule, so optimal without CP-SAT"
        ),
    ]
    flow_filled: Annotated[
        int, msgspec.Meta(description="slots the min-cost flow would fill, ignoring the rules")
    ]
    flow_refused: Annotated[
        dict[str, int],
        msgspec.Meta(
            description="the flow's pairs breaking a rule (conflict, hours_cap, "
            "assignments_cap): what committing it would have made fail on accept"
        ),
    ]


class Totals(msgspec.Struct, kw_only=True):
    needs: int  # needs in the period wanting volunteers
    open_slots: int  # slots the plan could fill: slots - filled - pending offers
    filled_slots: int
    unfilled_needs: int  # needs left with at least one slot the plan could not fill
    candidate_edges: int
    candidate_volunteers: int
    total_cost: int
    travel_km: float
    travel_minutes: float
    volunteers_used: int
    max_per_volunteer: int
    mean_per_volunteer: float  # over the volunteers used
    gini: float  # of assignments across every candidate volunteer: 0 even, towards 1 uneven
    greedy_cost: int  # cheapest-edge-first, for contrast
    greedy_filled: int
    history_used: bool  # false for large batches: fairness and reliability had no record
    candidates_ms: float
    scoring_ms: float
    solve_ms: float
    greedy_ms: float
    # Absent from plans proposed before the rules were constraints (a plain min-cost flow).
    solver: Solver | None = None


class Plan(msgspec.Struct, kw_only=True):
    id: UUID
    org_id: UUID
    programme_id: UUID
    from_: datetime = msgspec.field(name="from")
    to: datetime
    status: str  # proposed | committed
    choices: list[Choice]
    totals: Totals
    created_by: UUID | None
    created_at: datetime
    committed_at: datetime | None


class CommitOut(msgspec.Struct, kw_only=True):
    """What committing did: offers made, choices skipped, and why (reason -> count)."""

    plan_id: UUID
    offered: int
    skipped: int
    reasons: dict[str, int]
