"""The console's members page: an organisation's staff with their roles, its open invitations,
and what a coordinator or org admin does with them (invite, change a role, take one away,
revoke an invitation), each through the API's own use cases (`app/orgs/service.py`,
`app/orgs/members.py`) in the caller's tenant transaction, each with the reason the audit
log keeps. A refusal comes back as the form again with the error on its field (the last
org admin kept: a 409 in words), nothing half-written. Volunteers are not listed here: the
roster suspends them with a reason. No SQL here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from app.console.i18n import N_, Phrase, Problem
from app.console.views import zones
from app.db.tenancy import Tx, tenant_transaction
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.identity.principal import MANAGERS, STAFF, Role
from app.identity.tokens import TokenIdentity
from app.orgs import members, service
from app.orgs.schemas import MemberIn, RevokeIn, RoleChangeIn, RoleRemovalIn

PAGE = "members.html.j2"
CHANGE_PAGE = "member_change.html.j2"
REMOVE_PAGE = "member_remove.html.j2"
REVOKE_PAGE = "invitation_revoke.html.j2"
MOST = 200  # members of each staff role listed
ROLES = {
    Role.CASEWORKER: N_("Caseworker"),
    Role.COORDINATOR: N_("Coordinator"),
    Role.ORG_ADMIN: N_("Organisation admin"),
    Role.VOLUNTEER: N_("Volunteer"),
}
MESSAGES = {
    "reason": N_("Enter the reason, in 3 to 500 characters"),
    "email": N_("Enter an email address in the correct format, like name@example.org"),
    "role": N_("Select a role"),
    "to": N_("Select the new role"),
    "name": N_("Enter a name of at most 200 characters"),
    "last-admin": N_(
        "This is the organisation's last organisation admin, so the role cannot be taken "
        "away. Add another organisation admin first."
    ),
    "may-not": N_("You may not give or take away that role"),
    "invited": N_("That address already has an open invitation for that role"),
    "held": N_("That person already has that role"),
}


@dataclass
class Step:
    """A page to show (`template` with `context` and `status`), or where to go (`to`)."""

    template: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    to: str | None = None


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "")).strip().replace("\r\n", "\n")


def _errors(errors: list[Problem]) -> dict[str, Any]:
    return {"errors": errors, "by_field": {e.field: e.message for e in errors}}


async def managed_org(
    tx: Tx, org: str | None, roles: tuple[Role, ...] = MANAGERS
) -> tuple[UUID, list[tuple[UUID, str]]]:
    """The organisation the page is about (`org`, else the first the caller manages), and
    every one they manage with its name, for the choice between them. Not theirs: a 404.
    `roles`: who counts as managing it (a clients' import is any staff member's)."""
    mine = await service.me(tx)
    managed = sorted(
        {(m.org_id, m.org_name) for m in mine.memberships if m.role in roles},
        key=lambda o: (o[1], o[0]),
    )
    if org:
        try:
            wanted = UUID(org)
        except ValueError:
            raise NotFound("no such organisation") from None
        if wanted not in {o for o, _ in managed}:
            tx.principal.require_role(wanted, *roles)  # 404, or 403 for a member
        return wanted, managed
    if not managed:
        raise Forbidden("Only coordinators and organisation admins manage members")
    return managed[0][0], managed


def to_page(org_id: UUID, done: str) -> str:
    return f"/console/members?org={org_id}&done={done}"


async def members_page(db: AsyncEngine, identity: TokenIdentity, org: str | None) -> Step:
    async with tenant_transaction(db, identity) as tx:
        org_id, managed = await managed_org(tx, org)
        staff = []
        for role in reversed(STAFF):  # admins first
            found, _ = await service.list_members(tx, org_id, limit=MOST, cursor=None, role=role)
            staff.extend(found)
        context = {
            "nav": "members",
            "org_id": org_id,
            "orgs": managed,
            "org_name": dict(managed).get(org_id, ""),
            "members": staff,
            "invitations": await members.list_invitations(tx, org_id),
            "zones": await zones(tx),
            "grantable": [r for r in STAFF if r in service.grantable(tx, org_id)],
            "roles": ROLES,
            "me": tx.principal.user_id,
            "invite": {"email": "", "role": "", "display_name": ""},
        }
    return Step(PAGE, context | _errors([]))


async def invite(db: AsyncEngine, identity: TokenIdentity, org: str | None, form: Any) -> Step:
    """The API's add-member by e-mail: an invitation, claimed on first sign-in."""
    chosen = {k: _text(form, k) for k in ("email", "role", "display_name")}
    body: dict[str, Any] = {"email": chosen["email"], "role": chosen["role"]}
    if chosen["display_name"]:
        body["display_name"] = chosen["display_name"]
    error: Problem | None = None
    status = 422
    org_id: UUID | None = None
    try:
        data = msgspec.convert(body, MemberIn, strict=True)
        async with tenant_transaction(db, identity) as tx:
            org_id, _ = await managed_org(tx, org)
            await service.add_member(tx, org_id, data)
    except msgspec.ValidationError as exc:
        where = next((k for k in ("email", "role", "display_name") if f"$.{k}" in str(exc)), "")
        name = {"display_name": "name"}.get(where, where or "email")
        error = Problem(where or "email", MESSAGES[name])
    except Forbidden:
        error, status = Problem("role", MESSAGES["may-not"]), 403
    except Conflict:
        error, status = Problem("email", MESSAGES["invited"]), 409
    if error is None and org_id is not None:
        return Step(to=to_page(org_id, "invited"))
    page = await members_page(db, identity, org)
    assert error is not None
    return Step(PAGE, page.context | {"invite": chosen} | _errors([error]), status)


def _role(raw: str | None) -> Role:
    try:
        role = Role(raw or "")
    except ValueError:
        raise NotFound("no such role") from None
    if role not in STAFF:
        raise NotFound("volunteers are managed on the roster")
    return role


async def _member(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, user_id: UUID, role: Role
) -> dict[str, Any]:
    """The member and role a change or removal is about, or a 404 page."""
    async with tenant_transaction(db, identity) as tx:
        org_id, managed = await managed_org(tx, org)
        found, _ = await service.members_where(tx, org_id, limit=1, user_id=user_id, role=role)
        if not found:
            raise NotFound("That person has no such role here")
        return {
            "nav": "members",
            "org_id": org_id,
            "org_name": dict(managed).get(org_id, ""),
            "member": found[0],
            "role": role,
            "roles": ROLES,
            "choices": [r for r in STAFF if r in service.grantable(tx, org_id) and r != role],
            "chosen": {"to": "", "reason": ""},
        }


async def change_form(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, user_id: UUID, role: str | None
) -> Step:
    context = await _member(db, identity, org, user_id, _role(role))
    return Step(CHANGE_PAGE, context | _errors([]))


def _refusal(exc: Conflict | Forbidden, fallback: str) -> tuple[Problem, int]:
    if isinstance(exc, Forbidden):
        return Problem(fallback, MESSAGES["may-not"]), 403
    if "last org admin" in exc.detail:
        return Problem(fallback, MESSAGES["last-admin"]), 409
    if "already has the role" in exc.detail:
        return Problem(fallback, MESSAGES["held"]), 409
    return Problem(
        fallback, Phrase(N_("It cannot be done: %(reason)s"), {"reason": exc.detail})
    ), 409


async def change(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, user_id: UUID, form: Any
) -> Step:
    """The API's change-role: the role held for another, at once, with the reason."""
    role = _role(_text(form, "role"))
    chosen = {"to": _text(form, "to"), "reason": _text(form, "reason")}
    context = await _member(db, identity, org, user_id, role)
    body = {"role": role.value, "to": chosen["to"], "reason": chosen["reason"]}
    try:
        data = msgspec.convert(body, RoleChangeIn, strict=True)
        async with tenant_transaction(db, identity) as tx:
            await members.change_role(tx, context["org_id"], user_id, data)
    except msgspec.ValidationError as exc:
        where = "to" if "$.to" in str(exc) else "reason"
        error, status = Problem(where, MESSAGES[where]), 422
    except InvalidInput:  # the role held itself
        error, status = Problem("to", MESSAGES["to"]), 422
    except (Conflict, Forbidden) as exc:
        error, status = _refusal(exc, "to")
    else:
        return Step(to=to_page(context["org_id"], "changed"))
    return Step(CHANGE_PAGE, context | {"chosen": chosen} | _errors([error]), status)


async def remove_form(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, user_id: UUID, role: str | None
) -> Step:
    context = await _member(db, identity, org, user_id, _role(role))
    return Step(REMOVE_PAGE, context | _errors([]))


async def remove(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, user_id: UUID, form: Any
) -> Step:
    """The API's remove-role, confirmed on its own page, with the reason."""
    role = _role(_text(form, "role"))
    chosen = {"reason": _text(form, "reason")}
    context = await _member(db, identity, org, user_id, role)
    try:
        data = msgspec.convert({"role": role.value, **chosen}, RoleRemovalIn, strict=True)
        async with tenant_transaction(db, identity) as tx:
            await members.remove_role(tx, context["org_id"], user_id, data)
    except msgspec.ValidationError:
        error, status = Problem("reason", MESSAGES["reason"]), 422
    except (Conflict, Forbidden) as exc:
        error, status = _refusal(exc, "reason")
    else:
        return Step(to=to_page(context["org_id"], "removed"))
    return Step(REMOVE_PAGE, context | {"chosen": chosen} | _errors([error]), status)


async def _invitation(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, invitation_id: UUID
) -> dict[str, Any]:
    async with tenant_transaction(db, identity) as tx:
        org_id, managed = await managed_org(tx, org)
        found = [i for i in await members.list_invitations(tx, org_id) if i.id == invitation_id]
    if not found:
        raise NotFound("No open invitation with that id here")
    return {
        "nav": "members",
        "org_id": org_id,
        "org_name": dict(managed).get(org_id, ""),
        "invitation": found[0],
        "roles": ROLES,
        "chosen": {"reason": ""},
    }


async def revoke_form(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, invitation_id: UUID
) -> Step:
    return Step(REVOKE_PAGE, await _invitation(db, identity, org, invitation_id) | _errors([]))


async def revoke(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, invitation_id: UUID, form: Any
) -> Step:
    """The API's revoke-invitation, with the reason: signing in with it then grants nothing."""
    context = await _invitation(db, identity, org, invitation_id)
    chosen = {"reason": _text(form, "reason")}
    try:
        data = msgspec.convert(chosen, RevokeIn, strict=True)
        async with tenant_transaction(db, identity) as tx:
            await members.revoke_invitation(tx, context["org_id"], invitation_id, data)
    except msgspec.ValidationError:
        error, status = Problem("reason", MESSAGES["reason"]), 422
    except Forbidden as exc:
        error, status = _refusal(exc, "reason")
    else:
        return Step(to=to_page(context["org_id"], "revoked"))
    return Step(REVOKE_PAGE, context | {"chosen": chosen} | _errors([error]), status)
