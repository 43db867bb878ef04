"""The caller as our database knows them: user, platform role, memberships per organisation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from app.errors import Forbidden, NotFound


class Role(StrEnum):
    VOLUNTEER = "volunteer"
    CASEWORKER = "caseworker"
    COORDINATOR = "coordinator"
    ORG_ADMIN = "org_admin"


@dataclass(frozen=True)
class Membership:
    org_id: UUID
    role: Role


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    display_name: str | None
    email: str | None
    platform_admin: bool
    memberships: tuple[Membership, ...]

    def roles_in(self, org_id: UUID) -> frozenset[Role]:
        return frozenset(m.role for m in self.memberships if m.org_id == org_id)

    def require_role(self, org_id: UUID, *allowed: Role) -> None:
        """Guard an action in an organisation.

        Not a member: 404, as if the organisation did not exist. A member without an
        allowed role: 403. Platform admins pass.
        """
        if self.platform_admin:
            return
        roles = self.roles_in(org_id)
        if not roles:
            raise NotFound("Organisation not found")
        if not roles.intersection(allowed):
            raise Forbidden(f"Requires one of: {', '.join(sorted(allowed))} in this organisation")

    def require_platform_admin(self) -> None:
        if not self.platform_admin:
            raise Forbidden("Requires a platform administrator")
