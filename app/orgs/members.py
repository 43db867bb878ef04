"""Managing an organisation's staff: take a role away, change one for another, list and
revoke open invitations. Each with its reason in the audit log, by the organisation's
coordinators and admins, within what they may grant (`service.grantable`).

Volunteers are not removed here: they are suspended with a reason through the roster
(`app/volunteers/coordination.py: change_status`), which keeps their history and stops
their offers. An organisation always keeps an approved org admin: the last one cannot be
taken away (the admins' rows are locked first, so two admins removing each other at once
leave one)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, func, select

from app import audit
from app.db.tables import invitations, memberships
from app.db.tenancy import Tx
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.identity.principal import MANAGERS, Role
from app.orgs.schemas import Invitation, Member, RevokeIn, RoleChangeIn, RoleRemovalIn
from app.orgs.service import grantable, members_where, organisation_exists


def _may_manage(tx: Tx, org_id: UUID, role: Role) -> None:
    allowed = grantable(tx, org_id)
    if role not in allowed:
        raise Forbidden(f"you may manage: {', '.join(sorted(allowed)) or 'nothing'}")


async def _keep_an_admin(tx: Tx, org_id: UUID, user_id: UUID) -> None:
    """Refuse to take away the organisation's last approved org admin."""
    admins = (
        select(memberships.c.user_id)
        .where(
            memberships.c.org_id == org_id,
            memberships.c.role == Role.ORG_ADMIN.value,
            memberships.c.status == "approved",
        )
        .order_by(memberships.c.user_id)  # one lock order for every caller
        .with_for_update()
    )
    others = [u for u in (await tx.conn.execute(admins)).scalars() if u != user_id]
    if not others:
        raise Conflict("the organisation's last org admin cannot be taken away: add another")


async def _take_away(tx: Tx, org_id: UUID, user_id: UUID, role: Role) -> None:
    if role is Role.ORG_ADMIN:
        await _keep_an_admin(tx, org_id, user_id)
    gone = await tx.conn.execute(
        delete(memberships)
        .where(
            memberships.c.org_id == org_id,
            memberships.c.user_id == user_id,
            memberships.c.role == role.value,
        )
        .returning(memberships.c.user_id)
    )
    if gone.one_or_none() is None:
        raise NotFound(f"That person has no role {role} here")


async def remove_role(tx: Tx, org_id: UUID, user_id: UUID, data: RoleRemovalIn) -> None:
    tx.principal.require_role(org_id, *MANAGERS)
    await organisation_exists(tx, org_id)
    _may_manage(tx, org_id, Role(data.role))
    await _take_away(tx, org_id, user_id, Role(data.role))
    await audit.record(
        tx,
        "membership.removed",
        "user",
        user_id,
        org_id=org_id,
        reason=data.reason,
        details={"role": data.role},
    )


async def change_role(tx: Tx, org_id: UUID, user_id: UUID, data: RoleChangeIn) -> Member:
    tx.principal.require_role(org_id, *MANAGERS)
    await organisation_exists(tx, org_id)
    if data.to == data.role:
        raise InvalidInput.field("to", "the role to change to is the role held")
    _may_manage(tx, org_id, Role(data.role))
    _may_manage(tx, org_id, Role(data.to))
    await _take_away(tx, org_id, user_id, Role(data.role))
    held = await tx.conn.scalar(
        select(func.count()).where(
            memberships.c.org_id == org_id,
            memberships.c.user_id == user_id,
            memberships.c.role == data.to,
        )
    )
    if held:
        raise Conflict(f"That person already has the role {data.to} here")
    await tx.conn.execute(
        memberships.insert().values(
            org_id=org_id, user_id=user_id, role=data.to, created_by=tx.principal.user_id
        )
    )
    await audit.record(
        tx,
        "membership.changed",
        "user",
        user_id,
        org_id=org_id,
        reason=data.reason,
        details={"from": data.role, "to": data.to},
    )
    members, _ = await members_where(tx, org_id, limit=1, user_id=user_id, role=Role(data.to))
    return members[0]


async def list_invitations(tx: Tx, org_id: UUID) -> list[Invitation]:
    """The organisation's open invitations, oldest first."""
    tx.principal.require_role(org_id, *MANAGERS)
    await organisation_exists(tx, org_id)
    rows = await tx.conn.execute(
        select(invitations)
        .where(invitations.c.org_id == org_id, invitations.c.claimed_at.is_(None))
        .order_by(invitations.c.created_at, invitations.c.id)
    )
    return [
        Invitation(
            id=r.id,
            email=r.email,
            role=Role(r.role),
            display_name=r.display_name,
            invited_by=r.invited_by,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def revoke_invitation(tx: Tx, org_id: UUID, invitation_id: UUID, data: RevokeIn) -> None:
    """An open invitation withdrawn: signing in with that address grants nothing."""
    tx.principal.require_role(org_id, *MANAGERS)
    await organisation_exists(tx, org_id)
    found = await tx.conn.execute(
        select(invitations.c.role).where(
            invitations.c.id == invitation_id,
            invitations.c.org_id == org_id,
            invitations.c.claimed_at.is_(None),
        )
    )
    role = found.scalar_one_or_none()
    if role is None:
        raise NotFound("No open invitation with that id here")
    _may_manage(tx, org_id, Role(role))
    await tx.conn.execute(delete(invitations).where(invitations.c.id == invitation_id))
    await audit.record(
        tx,
        "invitation.revoked",
        "invitation",
        invitation_id,
        org_id=org_id,
        reason=data.reason,
        details={"role": role},
    )
