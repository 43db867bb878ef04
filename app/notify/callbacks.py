"""GOV.UK Notify's callbacks: delivery receipts and received text messages.

Each request carries the bearer token set for the callback in Notify's settings
(`CODELIVER_NOTIFY_CALLBACK_TOKEN`): a wrong or missing one is a 401 and changes nothing.
A receipt updates its message and the channel's health (a permanent failure moves an offer
or reminder to the person's next channel). A reply `YES 4821` / `NO 4821` from a verified
phone answers the offer of that code through the very same accept and decline use cases,
as the volunteer, once per Notify message id; anything else gets a text saying how.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from uuid import UUID

import msgspec
import structlog
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import clock_of
from app.db.tenancy import Tx, tenant_transaction
from app.errors import CodeliverError, InvalidToken, Unauthenticated
from app.identity.tokens import TokenIdentity
from app.notify.channels import phone_number
from app.offers import service as offers
from matching.replies import Answer, parse
from notifications.channels import FOLLOW_ORDER
from notifications.outbox import Message, TextKind, enqueue

log = structlog.get_logger(__name__)


class DeliveryReceipt(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Notify's delivery-status callback, every documented field (docs/traps.md: a field
    Notify adds would be refused until it is added here)."""

    id: UUID
    status: str  # delivered | permanent-failure | temporary-failure | technical-failure
    reference: str | None = None
    to: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    sent_at: str | None = None
    notification_type: str | None = None
    template_id: str | None = None
    template_version: int | None = None


class ReceivedText(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Notify's received-text-message callback, every documented field."""

    id: UUID
    source_number: str
    message: str
    destination_number: str | None = None
    date_received: str | None = None


def authorise(header: str | None, expected: str | None) -> None:
    """The bearer token Notify sends, compared in constant time; none configured: refused."""
    if not header:
        raise Unauthenticated("Notify's bearer token is required")
    scheme, _, token = header.partition(" ")
    ok = expected is not None and scheme.lower() == "bearer"
    if not ok or not hmac.compare_digest(token.strip().encode(), (expected or "").encode()):
        raise InvalidToken("not Notify's callback token")


async def delivery(engine: AsyncEngine, receipt: DeliveryReceipt) -> bool:
    """Record the status on its message (found by our reference); whether it was ours."""
    try:
        reference = UUID(receipt.reference or "")
    except ValueError:
        return False
    now = clock_of(engine).now()
    call = func.codeliver_notify_delivery(
        reference, receipt.id, receipt.status, now, sorted(FOLLOW_ORDER)
    )
    async with engine.begin() as conn:
        return bool(await conn.scalar(select(call)))


_TARGET = text(
    "SELECT issuer, subject, offer_id FROM codeliver_notify_reply_target(:source, :code, :at)"
)
_ONCE = text("SELECT codeliver_notify_reply_once(:id, :at, :outcome)")


async def _once(tx: Tx, notify_id: UUID, outcome: str) -> bool:
    params = {"id": notify_id, "at": tx.now, "outcome": outcome}
    return bool(await tx.conn.scalar(_ONCE, params))


async def _reply(tx: Tx, answer: str) -> None:
    message = Message(tx.principal.user_id, TextKind.SMS_REPLY, {"answer": answer}, urgent=True)
    await enqueue(tx.conn, [message], now=tx.now)


async def received(engine: AsyncEngine, sms: ReceivedText) -> str:
    """Act on a received text; what became of it (also what the answering text says)."""
    reply = parse(sms.message)
    source = phone_number(sms.source_number) or sms.source_number
    now: datetime = clock_of(engine).now()
    async with engine.connect() as conn:
        params = {"source": source, "code": reply.code if reply else "", "at": now}
        target = (await conn.execute(_TARGET, params)).one_or_none()
    if target is None:  # not a verified phone of anyone's: nobody to act for or answer
        log.info("text from an unknown number", notify_id=str(sms.id))
        return "unknown_sender"
    identity = TokenIdentity(target.issuer, target.subject)
    if reply is None:
        outcome = "not_understood"
    elif target.offer_id is None:
        outcome = "unknown_code"  # wrong, expired, or another volunteer's code
    else:
        outcome = "accepted" if reply.answer is Answer.YES else "declined"
        try:
            async with tenant_transaction(engine, identity) as tx:
                if not await _once(tx, sms.id, outcome):
                    return "duplicate"
                if reply.answer is Answer.YES:
                    await offers.accept(tx, target.offer_id)
                else:
                    await offers.decline(tx, target.offer_id, "declined by text message")
                await _reply(tx, outcome)
            return outcome
        except CodeliverError as exc:  # rolled back: record the refusal instead
            outcome = exc.code.replace("-", "_")
    async with tenant_transaction(engine, identity) as tx:
        if not await _once(tx, sms.id, outcome):
            return "duplicate"
        await _reply(tx, outcome)
    return outcome
