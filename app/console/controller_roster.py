"""The console's roster pages: decode, call the page's use case (`app/console/roster.py`,
`app/console/volunteer_record.py`), render a template or redirect (post, then redirect,
then get)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from app.console import roster, volunteer_record
from app.console.controller_members import SignedIn, _answer
from app.db.tenancy import Db

Req = Request[Any, Any, Any]


class RosterPagesController(Controller):
    path = "/volunteers"
    include_in_schema = False

    @get("/")
    async def roster_page(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        org: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The filters are read from the query as the form sent them (any text: one that is
        not a choice is shown on its field)."""
        chosen = {k: str(request.query_params.get(k, "")).strip() for k in roster.FIELDS}
        step = await roster.roster_page(db, identity, org, chosen, cursor)
        return _answer(request, step)

    @get("/{volunteer_id:uuid}")
    async def record_page(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        volunteer_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
        done: FromQuery[str | None] = None,
    ) -> Response[Any]:
        step = await volunteer_record.record_page(db, identity, org, volunteer_id)
        banner = done if done in volunteer_record.BANNERS else None
        return _answer(request, step, {"done": banner})

    @post("/{volunteer_id:uuid}/approve")
    async def approve(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        volunteer_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> Response[Any]:
        form = await request.form()
        step = await volunteer_record.change_status(
            db, identity, org, volunteer_id, "approve", form
        )
        return _answer(request, step)

    @post("/{volunteer_id:uuid}/suspend")
    async def suspend(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        volunteer_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> Response[Any]:
        form = await request.form()
        step = await volunteer_record.change_status(
            db, identity, org, volunteer_id, "suspend", form
        )
        return _answer(request, step)

    @post("/{volunteer_id:uuid}/vetting")
    async def record_check(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        volunteer_id: FromPath[UUID],
        org: FromQuery[str | None] = None,
    ) -> Response[Any]:
        form = await request.form()
        step = await volunteer_record.record_check(db, identity, org, volunteer_id, form)
        return _answer(request, step)
