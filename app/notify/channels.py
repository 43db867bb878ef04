"""Use cases for a person's own channels: add a phone or email (a one-time code goes out
through it), verify it, order the channels, forget one. Row-level security keeps each
person to their own rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from app.db.rows import AnyRow
from app.db.tables import contact_channels
from app.db.tenancy import Tx
from app.errors import Conflict, InvalidInput, NotFound, RateLimited
from app.notify import codes
from app.notify.schemas import ChannelName, ContactChannel, TextChannelName
from notifications.outbox import Message, TextKind, enqueue

RESEND_AFTER_S = 60  # the soonest a new code may be asked for


def phone_number(raw: str) -> str | None:
    """A number as Notify's received texts name it (+ and digits): UK 07... or +international;
    what PHONE_PATTERN allows, and a received text's sender (`447700900123`)."""
    digits = re.sub(r"[\s\-().]", "", raw)
    if re.fullmatch(r"07\d{9}", digits):
        return "+44" + digits[1:]
    if re.fullmatch(r"\+?[1-9]\d{7,14}", digits):
        return "+" + digits.lstrip("+")
    return None


def address_of(channel: TextChannelName, raw: str) -> str:
    if channel is TextChannelName.SMS:
        number = phone_number(raw)
        if number is None:  # pragma: no cover - PHONE_PATTERN refused it first
            raise InvalidInput.field("number", "not a mobile number (07... or +...)")
        return number
    return raw.strip()


def _out(row: AnyRow) -> ContactChannel:
    return ContactChannel(
        channel=ChannelName(row.channel),
        address=row.address,
        position=row.position,
        verified=row.verified_at is not None or row.channel == "push",
        healthy=row.healthy,
        health_note=row.health_note,
        verified_at=row.verified_at,
    )


async def _rows(tx: Tx) -> list[AnyRow]:
    stmt = (
        select(contact_channels)
        .where(contact_channels.c.user_id == tx.principal.user_id)
        .order_by(contact_channels.c.position)
    )
    return list((await tx.conn.execute(stmt)).all())


async def list_mine(tx: Tx) -> list[ContactChannel]:
    """The caller's channels in their order; none yet means push only."""
    return [_out(r) for r in await _rows(tx)]


async def add(tx: Tx, channel: TextChannelName, raw: str) -> ContactChannel:
    """Set the phone or email of a channel, unverified, and send it a one-time code; the
    channel keeps its place in the order, or goes last."""
    address = address_of(channel, raw)
    rows = {r.channel: r for r in await _rows(tx)}
    old = rows.get(channel.value)
    if old is not None and old.code_expires_at is not None:
        sent = old.code_expires_at - codes.VERIFY_TTL
        waited = (tx.now - sent).total_seconds()
        if waited < RESEND_AFTER_S and old.address == address:
            raise RateLimited(max(1, int(RESEND_AFTER_S - waited)))
    position = old.position if old is not None else len([r for r in rows if r != channel.value])
    values = {
        "address": address,
        "verified_at": None,
        "healthy": True,
        "health_note": None,
        "code_hash": None,
        "code_expires_at": tx.now + codes.VERIFY_TTL,  # replaced by the code's own at send
        "code_attempts": 0,
        "updated_at": tx.now,
    }
    stmt = insert(contact_channels).values(
        user_id=tx.principal.user_id, channel=channel.value, position=position, **values
    )
    await tx.conn.execute(
        stmt.on_conflict_do_update(index_elements=["user_id", "channel"], set_=values)
    )
    message = Message(
        tx.principal.user_id,
        TextKind.CHANNEL_VERIFY,
        {"channel": channel.value},
        urgent=True,  # asked for just now: not held for quiet hours
        expires_at=tx.now + codes.VERIFY_TTL,
    )
    await enqueue(tx.conn, [message], now=tx.now)
    return _out(next(r for r in await _rows(tx) if r.channel == channel.value))


@dataclass(frozen=True, slots=True)
class Verdict:
    channel: ContactChannel | None  # verified now
    refusal: InvalidInput | Conflict | None  # raised once the attempt is committed


async def verify(tx: Tx, channel: TextChannelName, code: str) -> Verdict:
    """Check a one-time code. A wrong code counts against the attempts, committed even
    though the answer is an error (the caller raises `refusal` after the transaction)."""
    row = next((r for r in await _rows(tx) if r.channel == channel.value), None)
    if row is None:
        raise NotFound("no such channel: add its address first")
    if row.verified_at is not None:
        return Verdict(_out(row), None)
    if row.code_attempts >= codes.VERIFY_ATTEMPTS:
        return Verdict(None, Conflict("too many wrong codes: ask for a new one"))
    if row.code_hash is None or row.code_expires_at is None or row.code_expires_at <= tx.now:
        return Verdict(None, Conflict("the code has expired or was not sent: ask for a new one"))
    mine = (contact_channels.c.user_id == tx.principal.user_id) & (
        contact_channels.c.channel == channel.value
    )
    if not codes.matches(row.code_hash, tx.principal.user_id, channel.value, code):
        await tx.conn.execute(
            update(contact_channels)
            .where(mine)
            .values(code_attempts=contact_channels.c.code_attempts + 1)
        )
        return Verdict(None, InvalidInput.field("code", "wrong code"))
    await tx.conn.execute(
        update(contact_channels)
        .where(mine)
        .values(verified_at=tx.now, code_hash=None, code_expires_at=None, updated_at=tx.now)
    )
    return Verdict(_out(next(r for r in await _rows(tx) if r.channel == channel.value)), None)


def answer(verdict: Verdict) -> ContactChannel:
    if verdict.refusal is not None:
        raise verdict.refusal
    assert verdict.channel is not None
    return verdict.channel


async def set_order(tx: Tx, order: list[ChannelName]) -> list[ContactChannel]:
    """The channels in this order, then any not named in their old order. Push needs no
    address; a text or email channel must have been added first."""
    if len(set(order)) != len(order):
        raise InvalidInput.field("order", "each channel at most once")
    rows = {r.channel: r for r in await _rows(tx)}
    missing = [c.value for c in order if c is not ChannelName.PUSH and c.value not in rows]
    if missing:
        # the state of the caller's channels, not the request's shape: a conflict
        raise Conflict(f"order: set an address for {', '.join(missing)} first")
    rest = [c for c in sorted(rows, key=lambda c: rows[c].position) if c not in order]
    names = [c.value for c in order] + rest
    for position, name in enumerate(names):
        if name in rows:
            await tx.conn.execute(
                update(contact_channels)
                .where(
                    contact_channels.c.user_id == tx.principal.user_id,
                    contact_channels.c.channel == name,
                )
                .values(position=position, updated_at=tx.now)
            )
        else:  # push, named for the first time
            await tx.conn.execute(
                insert(contact_channels).values(
                    user_id=tx.principal.user_id, channel=name, position=position
                )
            )
    return await list_mine(tx)


async def remove(tx: Tx, channel: ChannelName) -> None:
    done = await tx.conn.execute(
        delete(contact_channels).where(
            contact_channels.c.user_id == tx.principal.user_id,
            contact_channels.c.channel == channel.value,
        )
    )
    if done.rowcount == 0:
        raise NotFound("no such channel")
