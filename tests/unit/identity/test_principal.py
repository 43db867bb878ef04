from __future__ import annotations

from uuid import uuid4

import pytest

from app.errors import Forbidden, NotFound
from app.identity.principal import Membership, Principal, Role

ORG, OTHER = uuid4(), uuid4()


def _principal(*memberships: Membership, admin: bool = False) -> Principal:
    return Principal(uuid4(), "x", None, admin, memberships)


def test_a_member_with_an_allowed_role_passes() -> None:
    _principal(Membership(ORG, Role.COORDINATOR)).require_role(ORG, Role.COORDINATOR)


def test_a_member_without_the_role_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        _principal(Membership(ORG, Role.VOLUNTEER)).require_role(ORG, Role.COORDINATOR)


def test_a_stranger_is_told_not_found() -> None:
    with pytest.raises(NotFound):
        _principal(Membership(OTHER, Role.ORG_ADMIN)).require_role(ORG, Role.COORDINATOR)


def test_platform_admins_pass_everywhere_but_only_they_do() -> None:
    _principal(admin=True).require_role(ORG, Role.ORG_ADMIN)
    _principal(admin=True).require_platform_admin()
    with pytest.raises(Forbidden):
        _principal(Membership(ORG, Role.ORG_ADMIN)).require_platform_admin()
