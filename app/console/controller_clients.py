"""The console's client pages: find, add (postcode, address, details), one client, change;
from the client's page, keep a volunteer away (and lift it), the subject-access export and
erasure. Decode, call the page's use case (`client_views`, `client_actions`), render a
template or redirect (post, then redirect, then get)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.console import client_actions as actions
from app.console import client_views as views
from app.console.client_forms import ClientForm
from app.console.session import page, page_headers
from app.db.tenancy import Db
from app.identity.tokens import TokenIdentity

Req = Request[Any, Any, Any]
SignedIn = NamedDependency[TokenIdentity]  # the session's caller (app/console/session.py)
BANNERS = frozenset({"added", "changed", "kept-away", "lifted", "erased"})


def _answer(request: Req, step: views.Step, done: str) -> Response[Any]:
    """The step's page, or (done) the client's page with a banner saying what happened."""
    if step.client_id is None:
        return page(request, step.template, step.context or {}, step.status)
    return Redirect(f"/console/clients/{step.client_id}?done={done}", status_code=303)


class ClientPagesController(Controller):
    path = "/clients"
    include_in_schema = False

    @get("/")
    async def clients(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        name: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        context = await views.clients_page(db, identity, name, cursor)
        return page(request, "clients.html.j2", context)

    @get("/new")
    async def new_client(self, request: Req, db: Db, identity: SignedIn) -> Response[Any]:
        step = await views.new_client_page(request.app.state.settings, db, identity)
        return _answer(request, step, "added")

    @post("/new")
    async def post_new(self, request: Req, db: Db, identity: SignedIn) -> Response[Any]:
        settings = request.app.state.settings
        step = await views.post_new(settings, db, identity, await request.form())
        return _answer(request, step, "added")

    @get("/{client_id:uuid}")
    async def client(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        client_id: FromPath[UUID],
        done: FromQuery[str | None] = None,
    ) -> Template:
        context = await views.client_page(db, identity, client_id)
        banner = done if done in BANNERS else None
        return page(request, "client.html.j2", context | {"done": banner})

    @get("/{client_id:uuid}/change")
    async def change_form(
        self, request: Req, db: Db, identity: SignedIn, client_id: FromPath[UUID]
    ) -> Response[Any]:
        settings = request.app.state.settings
        step = await views.change_form(settings, db, identity, client_id)
        return _answer(request, step, "changed")

    @post("/{client_id:uuid}/change")
    async def change(
        self, request: Req, db: Db, identity: SignedIn, client_id: FromPath[UUID]
    ) -> Response[Any]:
        form = ClientForm.read(await request.form())
        step = await views.change_client(request.app.state.settings, db, identity, client_id, form)
        return _answer(request, step, "changed")

    @post("/{client_id:uuid}/exclusions")
    async def keep_away(
        self, request: Req, db: Db, identity: SignedIn, client_id: FromPath[UUID]
    ) -> Response[Any]:
        step = await actions.keep_away(db, identity, client_id, await request.form())
        return _answer(request, step, "kept-away")

    @post("/{client_id:uuid}/exclusions/{volunteer_id:uuid}/lift")
    async def lift(
        self,
        request: Req,
        db: Db,
        identity: SignedIn,
        client_id: FromPath[UUID],
        volunteer_id: FromPath[UUID],
    ) -> Response[Any]:
        return _answer(request, await actions.lift(db, identity, client_id, volunteer_id), "lifted")

    @get("/{client_id:uuid}/export")
    async def export_form(
        self, request: Req, db: Db, identity: SignedIn, client_id: FromPath[UUID]
    ) -> Response[Any]:
        return _answer(request, await actions.export_page(db, identity, client_id), "")

    @post("/{client_id:uuid}/export")
    async def export(
        self, request: Req, db: Db, identity: SignedIn, client_id: FromPath[UUID]
    ) -> Response[Any]:
        """The export as a JSON file to hand to the person (the API's own answer)."""
        found = await actions.export(db, identity, client_id, await request.form())
        if isinstance(found, views.Step):
            return _answer(request, found, "")
        name = f"client-{client_id}-subject-access.json"
        headers = page_headers(request.app.state.settings)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return Response(found, status_code=200, media_type="application/json", headers=headers)

    @get("/{client_id:uuid}/erase")
    async def erase_form(
        self, request: Req, db: Db, identity: SignedIn, client_id: FromPath[UUID]
    ) -> Response[Any]:
        return _answer(request, await actions.erase_page(db, identity, client_id), "")

    @post("/{client_id:uuid}/erase")
    async def erase(
        self, request: Req, db: Db, identity: SignedIn, client_id: FromPath[UUID]
    ) -> Response[Any]:
        step = await actions.erase(db, identity, client_id, await request.form())
        return _answer(request, step, "erased")
