"""The skills vocabulary: the platform's, plus each organisation's own additions."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromQuery, JSONBody
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app import audit
from app.db.tables import skills
from app.db.tenancy import Db, Tx, tenant_transaction
from app.errors import Conflict
from app.http_responses import LOCATION, created
from app.identity.principal import Role
from app.identity.tokens import Caller
from app.problems import problem_responses
from app.volunteers.schemas import SkillCode
from app.wire import TEXT_PATTERN


class SkillIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: SkillCode
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=TEXT_PATTERN)]
    org_id: UUID | None = None


class Skill(msgspec.Struct, kw_only=True):
    code: str
    label: str
    org_id: UUID | None  # None: the platform's vocabulary


async def vocabulary(tx: Tx, org_id: UUID | None) -> list[Skill]:
    # Row-level security already limits additions to the caller's organisations.
    stmt = select(skills.c.code, skills.c.label, skills.c.org_id).order_by(skills.c.code)
    if org_id is not None:
        stmt = stmt.where((skills.c.org_id.is_(None)) | (skills.c.org_id == org_id))
    return [
        Skill(code=r.code, label=r.label, org_id=r.org_id)
        for r in (await tx.conn.execute(stmt)).all()
    ]


async def add(tx: Tx, data: SkillIn) -> Skill:
    org_id = tx.principal.acting_org(data.org_id, Role.COORDINATOR, Role.ORG_ADMIN)
    platform = await tx.conn.scalar(
        select(skills.c.code).where(skills.c.code == data.code, skills.c.org_id.is_(None))
    )
    row = (
        None
        if platform
        else (
            await tx.conn.execute(
                insert(skills)
                .values(org_id=org_id, code=data.code, label=data.label.strip())
                .on_conflict_do_nothing()
                .returning(skills.c.code)
            )
        ).one_or_none()
    )
    if row is None:
        raise Conflict(f"the skill {data.code!r} already exists")
    await audit.record(tx, "skill.added", "skill", data.code, org_id=org_id)
    return Skill(code=data.code, label=data.label.strip(), org_id=org_id)


class SkillController(Controller):
    path = "/v1/skills"
    tags = ["skills"]

    @get(
        "/",
        summary="The skills vocabulary I may use",
        responses=problem_responses(),
        operation_id="listSkills",
    )
    async def list_all(
        self,
        request: Caller,
        db: Db,
        org_id: FromQuery[UUID | None] = None,
    ) -> list[Skill]:
        """The platform's skills and, with `org_id`, that organisation's own additions."""
        async with tenant_transaction(db, request.user) as tx:
            return await vocabulary(tx, org_id)

    @post(
        "/",
        summary="Add an organisation's own skill (coordinator)",
        description="`Location` is the vocabulary, where the new skill is listed.",
        responses=problem_responses(403, 404, 409),
        operation_id="createSkill",
        response_headers=LOCATION,
    )
    async def create(self, request: Caller, db: Db, data: JSONBody[SkillIn]) -> Response[Skill]:
        """Adds a skill to an organisation's vocabulary; a code that exists already is a 409.
        Coordinators only."""
        async with tenant_transaction(db, request.user) as tx:
            skill = await add(tx, data)
        return created(skill, self.path)
