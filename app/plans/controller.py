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
        description="Fills the most open slots, then at the least total cost (min-cost "
        "max-flow over up to 50 eligible candidates per need), each choice with the reasons "
        "for its score; totals include travel, fairness (Gini) and the greedy plan's figures "
        "for contrast. Nothing is offered until the plan is committed.",
        responses=problem_responses(403, 404),
        operation_id="proposePlan",
        response_headers=LOCATION,
    )
    async def propose(self, request: Caller, db: Db, data: JSONBody[PlanIn]) -> Response[Plan]:
        async with tenant_transaction(db, request.user) as tx:
            plan = await service.propose(tx, data)
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
        description="Choices no longer valid (the need filled or closed, the volunteer "
        "already offered it) are skipped and counted by reason. A second commit is a 409.",
        responses=problem_responses(403, 404, 409),
        operation_id="commitPlan",
    )
    async def commit(self, request: Caller, db: Db, plan_id: FromPath[UUID]) -> CommitOut:
        async with tenant_transaction(db, request.user) as tx:
            return await service.commit(tx, plan_id)
