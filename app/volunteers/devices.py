"""Push registrations: a volunteer's phones and browsers (FCM tokens or installation ids)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, func, select

from app.db.rows import AnyRow
from app.db.tables import devices
from app.db.tenancy import Tx
from app.errors import NotFound
from app.volunteers.schemas import Device, DeviceIn

MAX_DEVICES = 10


def _device(row: AnyRow) -> Device:
    return Device(
        id=row.id,
        kind=row.token_kind,
        platform=row.platform,
        app_version=row.app_version,
        token_suffix=row.token[-6:],
        last_seen_at=row.last_seen_at,
        created_at=row.created_at,
    )


async def register(tx: Tx, data: DeviceIn) -> Device:
    """Register or refresh a device; a token another user held moves to the caller."""
    device_id = await tx.conn.scalar(
        select(
            func.codeliver_register_device(
                data.token, data.kind.value, data.platform.value, data.app_version
            )
        )
    )
    # Keep the newest few: phones are replaced and old tokens go stale silently.
    stale = (
        select(devices.c.id)
        .where(devices.c.user_id == tx.principal.user_id)
        .order_by(devices.c.last_seen_at.desc())
        .offset(MAX_DEVICES)
    )
    await tx.conn.execute(delete(devices).where(devices.c.id.in_(stale)))
    row = (await tx.conn.execute(select(devices).where(devices.c.id == device_id))).one()
    return _device(row)


async def list_mine(tx: Tx) -> list[Device]:
    rows = (
        await tx.conn.execute(
            select(devices)
            .where(devices.c.user_id == tx.principal.user_id)
            .order_by(devices.c.last_seen_at.desc())
        )
    ).all()
    return [_device(r) for r in rows]


async def remove(tx: Tx, device_id: UUID) -> None:
    # Row-level security: another user's device is simply not there.
    gone = await tx.conn.execute(
        delete(devices).where(devices.c.id == device_id).returning(devices.c.id)
    )
    if gone.one_or_none() is None:
        raise NotFound("Device not found")
