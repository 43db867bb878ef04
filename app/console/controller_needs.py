"""The console's need pages: the list, post a need, one need and what a caseworker does from
it (offer, next wave, cancel, outcome). Decode, call the page's use case (`views`,
`need_views`), render a template or redirect (post, then redirect, then get)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.console import need_views, views
from app.console.forms import NeedForm
from app.console.session import page
from app.db.tenancy import Db
from app.identity.tokens import TokenIdentity
from app.needs.status import NeedStatus

Req = Request[Any, Any, Any]
SignedIn = NamedDependency[TokenIdentity]  # the session's caller (app/console/session.py)
BANNERS = frozenset({"posted", "offered", "wave", "nobody", "cancelled", "outcome"})


def _answer(request: Req, need_id: UUID, done: need_views.Done) -> Response[Any]:
    if done.banner is None:
        return page(request, done.template, done.context or {}, done.status)
    return Redirect(f"/console/needs/{need_id}?done={done.banner}", status_code=303)


class NeedPagesController(Controller):
    path = "/needs"
    include_in_schema = False

    @get("/")
    async def needs(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        status: FromQuery[NeedStatus | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        context = await views.needs_page(db, identity, status, cursor)
        return page(request, "needs.html.j2", context)

    @get("/new")
    async def new_need(self, request: Req, db: Db, identity: SignedIn) -> Template:
        return page(request, "new_need.html.j2", await views.new_need_page(db, identity))

    @post("/new")
    async def post_need(self, request: Req, db: Db, identity: SignedIn) -> Response[Any]:
        posted = await views.post_need(db, identity, NeedForm.read(await request.form()))
        if posted.need_id is None:
            return page(request, "new_need.html.j2", posted.page or {}, status=422)
        return Redirect(f"/console/needs/{posted.need_id}?done=posted", status_code=303)

    @get("/{need_id:uuid}")
    async def need(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        need_id: FromPath[UUID],
        done: FromQuery[str | None] = None,
    ) -> Template:
        context = await need_views.need_page(db, identity, need_id)
        return page(request, "need.html.j2", context | {"done": done if done in BANNERS else None})

    @post("/{need_id:uuid}/offers")
    async def offer(
        self, request: Req, db: Db, identity: SignedIn, need_id: FromPath[UUID]
    ) -> Response[Any]:
        done = await need_views.offer(db, identity, need_id, await request.form())
        return _answer(request, need_id, done)

    @get("/{need_id:uuid}/cancel")
    async def cancel_form(
        self, request: Req, db: Db, identity: SignedIn, need_id: FromPath[UUID]
    ) -> Template:
        context = await need_views.cancel_page(db, identity, need_id)
        return page(request, "need_cancel.html.j2", context)

    @post("/{need_id:uuid}/cancel")
    async def cancel(
        self, request: Req, db: Db, identity: SignedIn, need_id: FromPath[UUID]
    ) -> Response[Any]:
        done = await need_views.cancel(db, identity, need_id, await request.form())
        return _answer(request, need_id, done)

    @get("/{need_id:uuid}/outcome")
    async def outcome_form(
        self, request: Req, db: Db, identity: SignedIn, need_id: FromPath[UUID]
    ) -> Template:
        context = await need_views.outcome_page(db, identity, need_id)
        return page(request, "need_outcome.html.j2", context)

    @post("/{need_id:uuid}/outcome")
    async def outcome(
        self, request: Req, db: Db, identity: SignedIn, need_id: FromPath[UUID]
    ) -> Response[Any]:
        done = await need_views.record_outcome(db, identity, need_id, await request.form())
        return _answer(request, need_id, done)
