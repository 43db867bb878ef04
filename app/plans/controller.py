"""HTTP for batch plans: coordinators propose the optimal assignment, then commit it."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody

from app.db.tenancy import Db, tenant_transaction
from app.http_responses import LOCATION, created
from app.identity.tokens import Caller
from app.plans import service
from app.plans.schemas import CommitOut, Plan, PlanIn
from app.problems import problem_responses


class PlanController(Controller):
    path = "/v1/plans"
    tags = ["plans"]

    @post(
        "/",
        summary="Propose the optimal assignment for a programme's needs in a period",
        description="Fills the most open slots, then at the least total cost, over up to 50 "
        "eligible candidates per need, without giving a volunteer two needs at overlapping "
        "times, more than their weekly hours or more than their cap of active assignments "
        "(OR-Tools CP-SAT within a time limit; `totals.solver` says whether the plan is "
        "proved optimal or only feasible, and its gap to the best bound). Each choice comes "
        "with the reasons for its score; totals include travel, fairness (Gini) and the "
        "greedy plan's figures for contrast. Nothing is offered until the plan is committed.",
        responses=problem_responses(403, 404),
        operation_id="proposePlan",
        response_headers=LOCATION,
    )
    async def propose(self, request: Caller, db: Db, data: JSONBody[PlanIn]) -> Response[Plan]:
        limit_s = request.app.state.settings.plan_time_limit_s
        async with tenant_transaction(db, request.user) as tx:
            plan = await service.propose(tx, data, limit_s)
        return created(plan, f"{self.path}/{plan.id}")

    @get(
        "/{plan_id:uuid}",
        summary="A plan and its totals",
        responses=problem_responses(404),
        operation_id="getPlan",
    )
    async def plan(self, request: Caller, db: Db, plan_id: FromPath[UUID]) -> Plan:
        """A proposed plan: its choices, each with the reasons for its score, and its totals."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.get(tx, plan_id)

    @post(
        "/{plan_id:uuid}/commit",
        status_code=200,
        summary="Turn a plan into offers, once",
        description="Every choice is re-checked as it stands now: the need still open with "
        "room, the volunteer not already offered it, eligible as on accept (approved, vetting, "
        "barring, exclusions, their cap, no clash with what they hold, their weekly hours), "
        "and, across all the offers this commit makes them, no two at overlapping times and "
        "within their hours and cap, so they can accept them all. Choices that fail are "
        "skipped and counted by reason (`need_closed`, `already_offered`, `no_room`, or the "
        "rule: `conflict`, `hours_cap`, `assignments_cap`, ...); the rest are offered in one "
        "transaction. A second commit is a 409.",
        responses=problem_responses(403, 404, 409),
        operation_id="commitPlan",
    )
    async def commit(self, request: Caller, db: Db, plan_id: FromPath[UUID]) -> CommitOut:
        async with tenant_transaction(db, request.user) as tx:
            return await service.commit(tx, plan_id)
