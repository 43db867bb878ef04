"""The console's members and settings pages: decode, call the page's use case
(`app/console/members.py`, `app/console/org_settings.py`), render a template or redirect
(post, then redirect, then get)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from app.console import members, org_settings
from app.console.members import Step
from app.console.session import page
from app.db.tenancy import Db
from app.identity.tokens import TokenIdentity

Req = Request[Any, Any, Any]
SignedIn = NamedDependency[TokenIdentity]  # the session's caller (app/console/session.py)
MEMBER_BANNERS = frozenset({"invited", "changed", "removed", "revoked"})
SETTINGS_BANNERS = frozenset({"saved", "programme", "unchanged"})


def _answer(request: Req, step: Step, extra: dict[str, Any] | None = None) -> Response[Any]:
    if step.to is not None:
        return Redirect(step.to, status_code=303)
    return page(request, step.template, step.context | (extra or {}), step.status)


class MemberPagesController(Controller):
    path = "/members"
    include_in_schema = False

    @get("/")
    async def members_page(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        org: FromQuery[str | None] = None,
        done: FromQuery[str | None] = None,
    ) -> Response[Any]:
        step = await members.members_page(db, identity, org)
        return _answer(request, step, {"done": done if done in MEMBER_BANNERS else None})

    @post("/invite")
    async def invite(
        self, request: Req, db: Db, identity: SignedIn, org: FromQuery[str | None] = None
    ) -> Response[Any]:
        return _answer(request, await members.invite(db, identity, org, await request.form()))

    @get("/{user_id:uuid}/change")
    async def change_form(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        user_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
        role: FromQuery[str | None] = None,
    ) -> Response[Any]:
        return _answer(request, await members.change_form(db, identity, org, user_id, role))

    @post("/{user_id:uuid}/change")
    async def change(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        user_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> Response[Any]:
        step = await members.change(db, identity, org, user_id, await request.form())
        return _answer(request, step)

    @get("/{user_id:uuid}/remove")
    async def remove_form(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        user_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
        role: FromQuery[str | None] = None,
    ) -> Response[Any]:
        return _answer(request, await members.remove_form(db, identity, org, user_id, role))

    @post("/{user_id:uuid}/remove")
    async def remove(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        user_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> Response[Any]:
        step = await members.remove(db, identity, org, user_id, await request.form())
        return _answer(request, step)

    @get("/invitations/{invitation_id:uuid}/revoke")
    async def revoke_form(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        invitation_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> Response[Any]:
        return _answer(request, await members.revoke_form(db, identity, org, invitation_id))

    @post("/invitations/{invitation_id:uuid}/revoke")
    async def revoke(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        invitation_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> Response[Any]:
        step = await members.revoke(db, identity, org, invitation_id, await request.form())
        return _answer(request, step)


class SettingsPagesController(Controller):
    path = "/settings"
    include_in_schema = False

    @get("/")
    async def settings_page(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        org: FromQuery[str | None] = None,
        done: FromQuery[str | None] = None,
    ) -> Response[Any]:
        step = await org_settings.settings_page(db, identity, org)
        return _answer(request, step, {"done": done if done in SETTINGS_BANNERS else None})

    @post("/")
    async def save(
        self, request: Req, db: Db, identity: SignedIn, org: FromQuery[str | None] = None
    ) -> Response[Any]:
        return _answer(request, await org_settings.save(db, identity, org, await request.form()))

    @get("/programmes/{programme_id:uuid}")
    async def programme(
        self, request: Req, db: Db, identity: SignedIn, programme_id: FromPath[UUID]
    ) -> Response[Any]:
        return _answer(request, await org_settings.programme_page(db, identity, programme_id))

    @post("/programmes/{programme_id:uuid}")
    async def save_programme(
        self, request: Req, db: Db, identity: SignedIn, programme_id: FromPath[UUID]
    ) -> Response[Any]:
        form = await request.form()
        return _answer(request, await org_settings.save_programme(db, identity, programme_id, form))
