"""HTTP for clients: decode, call one use case, encode. Responses are never cached."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, FromQuery, JSONBody

from app.clients import exclusions, service
from app.clients.exclusions import Exclusion, ExclusionIn
from app.clients.schemas import Client, ClientExport, ClientIn, ClientPatch, ErasureIn
from app.db.tenancy import Db, tenant_transaction
from app.http_params import AccessReason
from app.http_responses import LOCATION, created
from app.identity.tokens import Caller
from app.pagination import Cursor, Limit, Page
from app.problems import problem_responses


class ClientController(Controller):
    path = "/v1/clients"
    tags = ["clients"]
    cache_control = CacheControlHeader(no_store=True)  # personal data: no copies in caches

    @post(
        "/",
        summary="Record a client (caseworker, coordinator, org admin)",
        responses=problem_responses(403, 404),
        operation_id="createClient",
        response_headers=LOCATION,
    )
    async def create(self, request: Caller, db: Db, data: JSONBody[ClientIn]) -> Response[Client]:
        """A person to be helped, with their contact and address. Client responses are never cached
        (`Cache-Control: no-store`)."""
        async with tenant_transaction(db, request.user) as tx:
            client = await service.create(tx, data)
        return created(client, f"{self.path}/{client.id}")

    @get(
        "/",
        summary="Clients of my organisations (audited)",
        responses=problem_responses(403),
        operation_id="listClients",
    )
    async def list_all(
        self,
        request: Caller,
        db: Db,
        access_reason: AccessReason = None,
        org_id: FromQuery[UUID | None] = None,
        include_erased: FromQuery[bool] = False,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[Client]:
        """A page of clients; the read is audited, with `X-Access-Reason` as its reason. Erased
        clients only with `include_erased`."""
        async with tenant_transaction(db, request.user) as tx:
            items, next_cursor = await service.list_clients(
                tx,
                org_id=org_id,
                include_erased=include_erased,
                limit=limit,
                cursor=cursor,
                reason=access_reason,
            )
        return Page(items=items, next_cursor=next_cursor)

    @get(
        "/{client_id:uuid}",
        summary="One client (audited)",
        responses=problem_responses(403, 404),
        operation_id="getClient",
    )
    async def get_one(
        self,
        request: Caller,
        db: Db,
        client_id: FromPath[UUID],
        access_reason: AccessReason = None,
    ) -> Client:
        """One client's record; the read is audited, with `X-Access-Reason` as its reason."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.get(tx, client_id, reason=access_reason)

    @patch(
        "/{client_id:uuid}",
        summary="Change a client's record (audited)",
        responses=problem_responses(403, 404, 409),
        operation_id="updateClient",
    )
    async def update(
        self,
        request: Caller,
        db: Db,
        client_id: FromPath[UUID],
        data: JSONBody[ClientPatch],
        access_reason: AccessReason = None,
    ) -> Client:
        """Changes the fields sent (at least one); audited."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.update_client(tx, client_id, data, reason=access_reason)

    @post(
        "/{client_id:uuid}/erase",
        status_code=200,
        summary="Erase a client's personal data (anonymised in place; irreversible)",
        responses=problem_responses(403, 404, 409),
        operation_id="eraseClient",
    )
    async def erase(
        self,
        request: Caller,
        db: Db,
        client_id: FromPath[UUID],
        data: JSONBody[ErasureIn],
    ) -> Client:
        """Anonymises the client's personal data in place, for a right-to-erasure request. It cannot
        be undone."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.erase(tx, client_id, data)

    @get(
        "/{client_id:uuid}/export",
        summary="Subject-access export: the record and its audit trail (audited)",
        responses=problem_responses(403, 404),
        operation_id="exportClient",
    )
    async def export(
        self,
        request: Caller,
        db: Db,
        client_id: FromPath[UUID],
        access_reason: AccessReason = None,
    ) -> ClientExport:
        """Everything held about the client, and the audit trail of who read or changed it (a
        subject-access request); audited."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.export(tx, client_id, reason=access_reason)

    @post(
        "/{client_id:uuid}/exclusions",
        summary="Keep a volunteer away from this client (never offered to each other)",
        responses=problem_responses(403, 404),
        operation_id="addExclusion",
        response_headers=LOCATION,
    )
    async def exclude(
        self, request: Caller, db: Db, client_id: FromPath[UUID], data: JSONBody[ExclusionIn]
    ) -> Response[Exclusion]:
        """The volunteer and the client are never offered to each other from now on."""
        async with tenant_transaction(db, request.user) as tx:
            exclusion = await exclusions.add(tx, client_id, data)
        return created(exclusion, f"{self.path}/{client_id}/exclusions/{exclusion.volunteer_id}")

    @get(
        "/{client_id:uuid}/exclusions",
        summary="Volunteers kept away from this client",
        responses=problem_responses(403, 404),
        operation_id="listExclusions",
    )
    async def list_exclusions(
        self, request: Caller, db: Db, client_id: FromPath[UUID]
    ) -> list[Exclusion]:
        """The volunteers kept away from this client."""
        async with tenant_transaction(db, request.user) as tx:
            return await exclusions.list_for(tx, client_id)

    @delete(
        "/{client_id:uuid}/exclusions/{volunteer_id:uuid}",
        summary="Lift an exclusion",
        responses=problem_responses(403, 404),
        operation_id="liftExclusion",
    )
    async def lift_exclusion(
        self, request: Caller, db: Db, client_id: FromPath[UUID], volunteer_id: FromPath[UUID]
    ) -> None:
        """The volunteer and the client may be matched again."""
        async with tenant_transaction(db, request.user) as tx:
            await exclusions.remove(tx, client_id, volunteer_id)
