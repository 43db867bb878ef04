"""The caller as our database knows them: user, platform role, memberships per organisation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from app.errors import Forbidden, InvalidInput, NotFound


class Role(StrEnum):
    VOLUNTEER = "volunteer"
    CASEWORKER = "caseworker"
    COORDINATOR = "coordinator"
    ORG_ADMIN = "org_admin"


# Who may read personal data in an organisation, and who may manage it.
STAFF = (Role.CASEWORKER, Role.COORDINATOR, Role.ORG_ADMIN)
MANAGERS = (Role.COORDINATOR, Role.ORG_ADMIN)


@dataclass(frozen=True)
class Membership:
    org_id: UUID
    role: Role
    status: str = "approved"  # volunteers start pending; anyone can be suspended


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    display_name: str | None
    email: str | None
    platform_admin: bool
    memberships: tuple[Membership, ...]

    def roles_in(self, org_id: UUID) -> frozenset[Role]:
        """Roles the person may act in: approved memberships only."""
        return frozenset(
            m.role for m in self.memberships if m.org_id == org_id and m.status == "approved"
        )

    def orgs_with(self, *allowed: Role) -> frozenset[UUID]:
        """Organisations where the person holds one of the roles (approved)."""
        return frozenset(
            m.org_id for m in self.memberships if m.role in allowed and m.status == "approved"
        )

    def member_of(self, org_id: UUID) -> bool:
        return any(m.org_id == org_id for m in self.memberships)

    def acting_org(self, org_id: UUID | None, *allowed: Role) -> UUID:
        """The organisation an action is for: the one named, or the caller's only one where
        they hold an allowed role."""
        if org_id is not None:
            self.require_role(org_id, *allowed)
            return org_id
        orgs = set(self.orgs_with(*allowed))
        if len(orgs) == 1:
            return orgs.pop()
        if not orgs:
            raise Forbidden(f"Requires one of: {', '.join(sorted(allowed))}")
        raise InvalidInput.field("org_id", "required: you work for several organisations")

    def require_role(self, org_id: UUID, *allowed: Role) -> None:
        """Guard an action in an organisation.

        Not a member: 404, as if the organisation did not exist. A member without an
        allowed role: 403. Platform admins pass.
        """
        if self.platform_admin:
            return
        roles = self.roles_in(org_id)
        if not self.member_of(org_id):
            raise NotFound("Organisation not found")
        if not roles.intersection(allowed):
            raise Forbidden(f"Requires one of: {', '.join(sorted(allowed))} in this organisation")

    def require_platform_admin(self) -> None:
        if not self.platform_admin:
            raise Forbidden("Requires a platform administrator")
