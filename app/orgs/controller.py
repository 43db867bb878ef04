"""HTTP for organisations and members: decode, call one use case, encode."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.conditional import NOT_MODIFIED, conditional, tagged
from app.db.tenancy import Db, tenant_transaction
from app.http_params import IfMatch
from app.http_responses import ETAG, LOCATION, created
from app.identity.principal import Role
from app.identity.tokens import Caller
from app.orgs import members, service, settings
from app.orgs.schemas import (
    Invitation,
    Me,
    Member,
    MemberIn,
    Organisation,
    OrganisationIn,
    OrganisationPatch,
    RevokeIn,
    RoleChangeIn,
    RoleRemovalIn,
)
from app.pagination import Cursor, Limit, Page
from app.problems import problem_responses


class MeController(Controller):
    path = "/v1/me"
    tags = ["identity"]

    @get(
        "/",
        summary="Who am I: user and roles per organisation",
        responses=problem_responses(),
        operation_id="getMe",
    )
    async def get_me(self, request: Caller, db: Db) -> Me:
        """The signed-in user and their role in each organisation they belong to."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.me(tx)


class OrganisationController(Controller):
    path = "/v1/orgs"
    tags = ["organisations"]

    @post(
        "/",
        summary="Create an organisation (platform admin)",
        description="An organisation has no page of its own: `Location` is its members.",
        responses=problem_responses(403, 409),
        operation_id="createOrganisation",
        response_headers=LOCATION,
    )
    async def create(
        self, request: Caller, db: Db, data: JSONBody[OrganisationIn]
    ) -> Response[Organisation]:
        """A new organisation (a council, a charity); platform admins only. A slug already taken is
        a 409."""
        async with tenant_transaction(db, request.user) as tx:
            org = await service.create_organisation(tx, data)
        return created(org, f"{self.path}/{org.id}/members")

    @get(
        "/{org_id:uuid}",
        summary="An organisation's settings (coordinator, org admin)",
        description="Carries an `ETag`: send it back as `If-Match` with a change, or as "
        "`If-None-Match` to get an empty 304 while nothing changed.",
        responses={**problem_responses(403, 404), **NOT_MODIFIED},
        operation_id="getOrganisation",
    )
    async def get_one(
        self, request: Caller, db: Db, org_id: FromPath[UUID]
    ) -> Response[Organisation]:
        """Name, kind, slug, time zone, how often DBS checks are renewed and how long what
        outlives a volunteer's erasure is kept. Another organisation's id is a 404."""
        async with tenant_transaction(db, request.user) as tx:
            return conditional(request, await settings.get_organisation(tx, org_id))

    @patch(
        "/{org_id:uuid}",
        summary="Change an organisation's settings (org admin)",
        description="With `If-Match` (the `ETag` read), a change made meanwhile by someone "
        "else is a 412 and nothing is written. The answer carries the new `ETag`. Audited with "
        "each changed field before and after.",
        responses=problem_responses(403, 404, 412),
        operation_id="updateOrganisation",
        response_headers=ETAG,
    )
    async def update(
        self,
        request: Caller,
        db: Db,
        org_id: FromPath[UUID],
        data: JSONBody[OrganisationPatch],
        if_match: IfMatch = None,
    ) -> Response[Organisation]:
        """Changes the fields sent (at least one); the others stay. `vetting_recheck_months`
        dates the checks recorded from then on (those recorded keep their expiry). A shorter
        `safeguarding_retention_months` reaches volunteers erased before too: what they left is
        deleted once the new period has run from their erasure."""
        async with tenant_transaction(db, request.user) as tx:
            org = await settings.update_organisation(tx, org_id, data, if_match)
        return tagged(org)

    @post(
        "/{org_id:uuid}/members",
        summary="Add or invite a member (coordinator, org admin)",
        description="`Location` is the organisation's members, where the new one is listed.",
        responses=problem_responses(403, 404, 409),
        operation_id="addMember",
        response_headers=LOCATION,
    )
    async def add_member(
        self,
        request: Caller,
        db: Db,
        org_id: FromPath[UUID],
        data: JSONBody[MemberIn],
    ) -> Response[Member]:
        """Gives a person a role in the organisation, inviting them when they have not signed in
        yet. Coordinators and org admins of that organisation only."""
        async with tenant_transaction(db, request.user) as tx:
            member = await service.add_member(tx, org_id, data)
        return created(member, request.url.path)

    @get(
        "/{org_id:uuid}/members",
        summary="List members (coordinator, org admin)",
        responses=problem_responses(403, 404),
        operation_id="listMembers",
    )
    async def list_members(
        self,
        request: Caller,
        db: Db,
        org_id: FromPath[UUID],
        limit: Limit = 50,
        cursor: Cursor = None,
        role: FromQuery[Role | None] = None,
    ) -> Page[Member]:
        """A page of the organisation's members, of one role with `role`. Coordinators and org
        admins of that organisation only."""
        async with tenant_transaction(db, request.user) as tx:
            items, next_cursor = await service.list_members(
                tx, org_id, limit=limit, cursor=cursor, role=role
            )
        return Page(items=items, next_cursor=next_cursor)

    @post(
        "/{org_id:uuid}/members/{user_id:uuid}/remove",
        status_code=204,
        summary="Take a staff role away, with a reason (coordinator, org admin)",
        description="The organisation's last org admin cannot be taken away (409). A "
        "volunteer is suspended with a reason instead (`POST /v1/volunteers/{id}/suspend`).",
        responses=problem_responses(403, 404, 409),
        operation_id="removeMemberRole",
    )
    async def remove_role(
        self,
        request: Caller,
        db: Db,
        org_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[RoleRemovalIn],
    ) -> None:
        """The person loses the role at once: roles are read from the database on every
        request. Recorded in the audit log with the reason."""
        async with tenant_transaction(db, request.user) as tx:
            await members.remove_role(tx, org_id, user_id, data)

    @post(
        "/{org_id:uuid}/members/{user_id:uuid}/change-role",
        status_code=200,
        summary="Change a staff role for another, with a reason (coordinator, org admin)",
        responses=problem_responses(403, 404, 409),
        operation_id="changeMemberRole",
    )
    async def change_role(
        self,
        request: Caller,
        db: Db,
        org_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[RoleChangeIn],
    ) -> Member:
        """`role` (held now) for `to`, in one step, both within what the caller may grant."""
        async with tenant_transaction(db, request.user) as tx:
            return await members.change_role(tx, org_id, user_id, data)

    @get(
        "/{org_id:uuid}/invitations",
        summary="Open invitations (coordinator, org admin)",
        responses=problem_responses(403, 404),
        operation_id="listInvitations",
    )
    async def list_invitations(
        self, request: Caller, db: Db, org_id: FromPath[UUID]
    ) -> list[Invitation]:
        """Invitations nobody has claimed yet, oldest first."""
        async with tenant_transaction(db, request.user) as tx:
            return await members.list_invitations(tx, org_id)

    @post(
        "/{org_id:uuid}/invitations/{invitation_id:uuid}/revoke",
        status_code=204,
        summary="Revoke an open invitation, with a reason (coordinator, org admin)",
        responses=problem_responses(403, 404),
        operation_id="revokeInvitation",
    )
    async def revoke_invitation(
        self,
        request: Caller,
        db: Db,
        org_id: FromPath[UUID],
        invitation_id: FromPath[UUID],
        data: JSONBody[RevokeIn],
    ) -> None:
        """Signing in with that address then grants nothing. Audited with the reason."""
        async with tenant_transaction(db, request.user) as tx:
            await members.revoke_invitation(tx, org_id, invitation_id, data)
