"""An organisation's settings after its creation: read by its coordinators and admins,
changed by its org admins (name, time zone, how often DBS checks are renewed, how long what
outlives a volunteer's erasure is kept). A change may carry the `ETag` it was made against
(`If-Match`): if someone changed the organisation meanwhile, it is refused (412) rather
than silently overwriting theirs. Audited with each changed field before and after."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import select, update

from app import audit
from app.conditional import etag_of, if_match_holds
from app.db.tables import organisations
from app.db.tenancy import Tx
from app.errors import InvalidInput, NotFound, PreconditionFailed
from app.identity.principal import MANAGERS, Role
from app.orgs.schemas import Organisation, OrganisationPatch
from app.wire import check_time_zone


async def _current(tx: Tx, org_id: UUID, *, lock: bool = False) -> Organisation:
    stmt = select(organisations).where(organisations.c.id == org_id)
    row = (await tx.conn.execute(stmt.with_for_update() if lock else stmt)).one_or_none()
    if row is None:  # row-level security hides other organisations: unknown and foreign alike
        raise NotFound("Organisation not found")
    return Organisation(**row._mapping)


async def get_organisation(tx: Tx, org_id: UUID) -> Organisation:
    """The organisation's settings, for its coordinators and org admins."""
    tx.principal.require_role(org_id, *MANAGERS)
    return await _current(tx, org_id)


def _changes(patch: OrganisationPatch) -> dict[str, Any]:
    changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    if not changes:
        raise InvalidInput.field("body", "nothing to change")
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    if "time_zone" in changes:
        check_time_zone(changes["time_zone"])
    return changes


async def update_organisation(
    tx: Tx, org_id: UUID, patch: OrganisationPatch, if_match: str | None = None
) -> Organisation:
    """Changes the fields sent; org admins only. `if_match`: the `ETag` the caller read, or
    none to change whatever is current. A shorter retention applies to volunteers erased
    before as well: what they left is deleted once the new period has run from their
    erasure (`app/rights/retention.py`)."""
    tx.principal.require_role(org_id, Role.ORG_ADMIN)
    current = await _current(tx, org_id, lock=True)
    if not if_match_holds(if_match, etag_of(current)):
        raise PreconditionFailed(
            "The organisation changed since you read it: read it again (its ETag is new)"
        )
    wanted = _changes(patch)
    before = msgspec.structs.asdict(current)
    changed = {k: v for k, v in wanted.items() if before[k] != v}
    if not changed:
        return current
    row = (
        await tx.conn.execute(
            update(organisations)
            .where(organisations.c.id == org_id)
            .values(**changed)
            .returning(*organisations.c)
        )
    ).one()
    await audit.record(
        tx,
        "organisation.updated",
        "organisation",
        org_id,
        org_id=org_id,
        details={"before": {k: before[k] for k in changed}, "after": changed},
    )
    return Organisation(**row._mapping)
