"""Importing clients, for caseworkers: the volunteers' import's machinery (a kept dry run,
then batches of 1,000 rows, each its own transaction holding the organisation's import
lock; `app/imports/service.py`) on the clients' columns and rules (docs/imports.md,
"Importing clients"; docs/decisions.md, 64).

Who may import clients is who may record one through the API: a caseworker, coordinator or
org admin of the organisation (STAFF). Rows are placed by their postcode with the geocoder
the console's client form uses, once per distinct postcode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.tables import organisations
from app.db.tenancy import Tx, tenant_transaction
from app.errors import NotFound
from app.geocoder import NOT_SET_UP, Geocoder
from app.identity.principal import STAFF
from app.identity.tokens import TokenIdentity
from app.imports import client_writes
from app.imports.client_columns import Places, postcodes, read
from app.imports.client_plan import Decision, Row, duplicates, fingerprint, plan
from app.imports.columns import Checked
from app.imports.schemas import ImportReport, ImportStatus
from app.imports.service import (
    Filed,
    Progress,
    claim,
    finish,
    kept_file_of_kind,
    recorded_apply,
    recorded_dry_run,
    results_of,
    run_batches,
    status_of_kind,
)
from geo.geocoding import Address, LookupFailed

KIND = "clients"
LOOKUPS_AT_ONCE = 4  # postcodes asked of the geocoder at a time


async def require_staff(tx: Tx, org_id: UUID) -> None:
    """As `POST /v1/clients`: staff of the organisation; anyone else a 404 or 403."""
    tx.principal.require_role(org_id, *STAFF)
    found = await tx.conn.scalar(
        organisations.select()
        .with_only_columns(organisations.c.id)
        .where(organisations.c.id == org_id)
    )
    if found is None:
        raise NotFound("Organisation not found")


async def places(geocoder: Geocoder | None, content: bytes) -> Places:
    """The addresses at each postcode the file places a row by, or why there are none."""
    wanted = sorted(postcodes(content))
    if geocoder is None:
        return dict.fromkeys(wanted, NOT_SET_UP)
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)
    found: dict[str, list[Address] | str] = {}

    async def one(postcode: str) -> None:
        async with gate:
            try:
                found[postcode] = await geocoder.look_up(postcode)
            except LookupFailed as exc:
                found[postcode] = exc.reason

    await asyncio.gather(*(one(p) for p in wanted))
    return found


async def _checked(content: bytes, geocoder: Geocoder | None) -> Checked[Row]:
    return read(content, await places(geocoder, content))


async def dry_run(
    tx: Tx,
    org_id: UUID,
    content: bytes,
    *,
    geocoder: Geocoder | None,
    file_name: str | None = None,
    keep: bool = True,
) -> ImportReport:
    """What applying the file would do, row by row, writing nothing but (with `keep`) the
    dry run itself. The report names columns and reasons, never a cell's value."""
    await require_staff(tx, org_id)
    checked = await _checked(content, geocoder)
    found = await client_writes.known(tx, org_id, checked.rows)
    decisions = plan(checked.rows, found, duplicates(checked.rows))
    expected = {str(r.line): fingerprint(found.get(r.external_id)) for r in checked.rows}
    return await recorded_dry_run(
        tx,
        org_id,
        Filed(KIND, checked.sha256, checked.total, file_name),
        results_of(checked.refused, decisions),
        content=content if keep else None,
        expected=expected,
    )


async def apply(
    engine: AsyncEngine,
    identity: TokenIdentity,
    org_id: UUID,
    *,
    geocoder: Geocoder | None,
    import_id: UUID | None = None,
    content: bytes | None = None,
    progress: Progress | None = None,
    via: str = "api",
) -> ImportReport:
    """Applies a kept dry run (`import_id`: a row whose client changed since is refused, not
    overwritten) or a file straight away (`content`). Each batch decides again on what it
    has locked, so re-running a file changes nothing."""
    expected: dict[int, str] | None = None
    async with tenant_transaction(engine, identity) as tx:
        await require_staff(tx, org_id)
        if import_id is not None:
            content, expected = await claim(tx, org_id, import_id, KIND)
    assert content is not None
    try:
        checked = await _checked(content, geocoder)
        repeated = duplicates(checked.rows)

        async def write(tx: Tx, batch: Sequence[Row]) -> list[Decision]:
            found = await client_writes.known(tx, org_id, batch, lock=True)
            decisions = plan(batch, found, repeated, expected)
            return await client_writes.apply_batch(tx, org_id, batch, decisions)

        decisions = await run_batches(
            engine, identity, org_id, checked.rows, len(checked.refused), import_id,
            progress, write,
        )  # fmt: skip
    except BaseException:
        if import_id is not None:
            async with tenant_transaction(engine, identity) as tx:
                await finish(tx, import_id, "failed", None)
        raise
    filed = Filed(KIND, checked.sha256, checked.total)
    results = results_of(checked.refused, decisions)
    return await recorded_apply(
        engine, identity, org_id, filed, results, import_id=import_id, via=via
    )


async def status(tx: Tx, org_id: UUID, import_id: UUID) -> ImportStatus:
    await require_staff(tx, org_id)
    return await status_of_kind(tx, org_id, import_id, KIND)


async def kept_file(tx: Tx, org_id: UUID, import_id: UUID) -> bytes:
    await require_staff(tx, org_id)
    return await kept_file_of_kind(tx, org_id, import_id, KIND)
