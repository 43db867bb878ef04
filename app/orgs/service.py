"""Use cases for organisations and memberships. Each runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app import audit
from app.db.tables import invitations, memberships, organisations, users
from app.db.tenancy import Tx
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.identity.principal import Role
from app.orgs.schemas import Me, Member, MemberIn, MyMembership, Organisation, OrganisationIn
from app.pagination import decode_cursor, page_of
from app.wire import check_time_zone

# Who may grant which role. Volunteers join through their own sign-up, not by invitation.
GRANTABLE = {
    Role.COORDINATOR: frozenset({Role.CASEWORKER, Role.COORDINATOR}),
    Role.ORG_ADMIN: frozenset({Role.CASEWORKER, Role.COORDINATOR, Role.ORG_ADMIN}),
}


def _valid_time_zone(name: str) -> str:
    check_time_zone(name)
    return name


async def create_organisation(tx: Tx, data: OrganisationIn) -> Organisation:
    tx.principal.require_platform_admin()
    stmt = (
        pg_insert(organisations)
        .values(
            name=data.name.strip(),
            slug=data.slug,
            kind=data.kind.value,
            time_zone=_valid_time_zone(data.time_zone),
            vetting_recheck_months=data.vetting_recheck_months,
            safeguarding_retention_months=data.safeguarding_retention_months,
        )
        .on_conflict_do_nothing(index_elements=["slug"])
        .returning(*organisations.c)
    )
    row = (await tx.conn.execute(stmt)).one_or_none()
    if row is None:
        raise Conflict(f"An organisation with slug {data.slug!r} already exists")
    await audit.record(tx, "organisation.created", "organisation", row.id, org_id=row.id)
    return Organisation(**row._mapping)


def grantable(tx: Tx, org_id: UUID) -> set[Role]:
    """The roles the caller may grant (and take away) in the organisation."""
    if tx.principal.platform_admin:
        return set(GRANTABLE[Role.ORG_ADMIN])
    granting = tx.principal.roles_in(org_id)
    return set().union(*(GRANTABLE.get(r, frozenset()) for r in granting))


async def organisation_exists(tx: Tx, org_id: UUID) -> None:
    # Row-level security hides other tenants' organisations: unknown and foreign look alike.
    found = await tx.conn.scalar(select(organisations.c.id).where(organisations.c.id == org_id))
    if found is None:
        raise NotFound("Organisation not found")


async def _invite(tx: Tx, org_id: UUID, data: MemberIn) -> Member:
    """An invitation for an e-mail: it becomes a membership when someone signs in with that
    verified address. Whether the address has an account anywhere is never looked up."""
    assert data.email is not None
    row = (
        await tx.conn.execute(
            pg_insert(invitations)
            .values(
                org_id=org_id,
                email=data.email.strip().lower(),
                role=data.role.value,
                display_name=data.display_name,
                invited_by=tx.principal.user_id,
            )
            .on_conflict_do_nothing(
                index_elements=["org_id", "email", "role"],
                index_where=invitations.c.claimed_at.is_(None),
            )
            .returning(invitations.c.id, invitations.c.email, invitations.c.created_at)
        )
    ).one_or_none()
    if row is None:
        raise Conflict(f"{data.email} already has an open invitation as {data.role}")
    await audit.record(
        tx,
        "invitation.created",
        "invitation",
        row.id,
        org_id=org_id,
        details={"role": data.role.value},
    )
    return Member(
        user_id=None,
        display_name=data.display_name,
        email=row.email,
        role=data.role,
        invited=True,
        created_at=row.created_at,
    )


async def add_member(tx: Tx, org_id: UUID, data: MemberIn) -> Member:
    tx.principal.require_role(org_id, Role.COORDINATOR, Role.ORG_ADMIN)
    await organisation_exists(tx, org_id)
    if (data.email is None) == (data.user_id is None):
        raise InvalidInput.field("email", "give exactly one of email or user_id")
    allowed = grantable(tx, org_id)
    if data.role not in allowed:
        raise Forbidden(f"you may grant: {', '.join(sorted(allowed)) or 'nothing'}")
    if data.email is not None:
        return await _invite(tx, org_id, data)
    assert data.user_id is not None
    user_id = data.user_id
    # Row-level security shows only colleagues in the caller's organisations.
    if await tx.conn.scalar(select(users.c.id).where(users.c.id == user_id)) is None:
        raise NotFound("User not found")
    inserted = await tx.conn.execute(
        pg_insert(memberships)
        .values(
            org_id=org_id, user_id=user_id, role=data.role.value, created_by=tx.principal.user_id
        )
        .on_conflict_do_nothing()
        .returning(memberships.c.created_at)
    )
    if inserted.one_or_none() is None:
        raise Conflict(f"That person already has the role {data.role} here")
    await audit.record(
        tx, "membership.created", "user", user_id, org_id=org_id, details={"role": data.role.value}
    )
    members, _ = await members_where(tx, org_id, limit=1, user_id=user_id, role=data.role)
    return members[0]


async def list_members(
    tx: Tx, org_id: UUID, *, limit: int, cursor: str | None, role: Role | None
) -> tuple[list[Member], str | None]:
    tx.principal.require_role(org_id, Role.COORDINATOR, Role.ORG_ADMIN)
    await organisation_exists(tx, org_id)
    after = decode_cursor(cursor) if cursor else None
    members, next_cursor = await members_where(tx, org_id, limit=limit, after=after, role=role)
    # A volunteer's name and e-mail, listed to staff, is a read of their record.
    volunteers = [(m.user_id, org_id) for m in members if m.role is Role.VOLUNTEER and m.user_id]
    await audit.record_volunteer_reads(tx, volunteers, None, "membership management")
    return members, next_cursor


async def members_where(
    tx: Tx,
    org_id: UUID,
    *,
    limit: int,
    after: tuple[datetime, UUID, str] | None = None,
    role: Role | None = None,
    user_id: UUID | None = None,
) -> tuple[list[Member], str | None]:
    key = tuple_(memberships.c.created_at, memberships.c.user_id, memberships.c.role)
    stmt = (
        select(
            memberships.c.user_id,
            memberships.c.role,
            memberships.c.created_at,
            users.c.display_name,
            users.c.email,
            users.c.subject,
        )
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.org_id == org_id)
        .order_by(*key.clauses)
        .limit(limit + 1)
    )
    if role is not None:
        stmt = stmt.where(memberships.c.role == role.value)
    if user_id is not None:
        stmt = stmt.where(memberships.c.user_id == user_id)
    if after is not None:
        stmt = stmt.where(key > tuple_(*after))
    rows = (await tx.conn.execute(stmt)).all()
    members = [
        Member(
            user_id=r.user_id,
            display_name=r.display_name,
            email=r.email,
            role=Role(r.role),
            invited=False,
            created_at=r.created_at,
        )
        for r in rows
    ]
    return page_of(members, limit, key=lambda m: (m.created_at, m.user_id, m.role.value))


async def time_zones(tx: Tx) -> dict[UUID, str]:
    """The time zone of each organisation the caller belongs to (IANA names)."""
    org_ids = [m.org_id for m in tx.principal.memberships]
    if not org_ids:
        return {}
    stmt = select(organisations.c.id, organisations.c.time_zone)
    rows = await tx.conn.execute(stmt.where(organisations.c.id.in_(org_ids)))
    return {r.id: r.time_zone for r in rows}


async def me(tx: Tx) -> Me:
    p = tx.principal
    org_ids = [m.org_id for m in p.memberships]
    rows: Sequence[Row[Any, Any, Any]] = ()
    if org_ids:
        stmt = select(organisations.c.id, organisations.c.slug, organisations.c.name)
        rows = (await tx.conn.execute(stmt.where(organisations.c.id.in_(org_ids)))).all()
    orgs = {r.id: r for r in rows}
    return Me(
        user_id=p.user_id,
        display_name=p.display_name,
        email=p.email,
        platform_admin=p.platform_admin,
        memberships=[
            MyMembership(
                org_id=m.org_id,
                org_slug=orgs[m.org_id].slug,
                org_name=orgs[m.org_id].name,
                role=m.role,
            )
            for m in p.memberships
            if m.org_id in orgs
        ],
    )
