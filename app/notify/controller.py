"""HTTP for a person's own channels: how offers and reminders reach them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody

from app.db.tenancy import Db, tenant_transaction
from app.identity.tokens import Caller
from app.notify import callbacks, channels, digest
from app.notify.schemas import (
    ChannelName,
    ContactChannel,
    Digest,
    DigestIn,
    EmailIn,
    OrderIn,
    PhoneIn,
    TextChannelName,
    VerifyIn,
)
from app.problems import problem_responses


class MyChannelsController(Controller):
    path = "/v1/volunteers/me/channels"
    tags = ["channels"]

    @get(
        "/",
        summary="My channels, in my order",
        description="How offers and reminders reach me: the first verified, healthy channel "
        "in this order (push: a registered device), falling back along it when one fails for "
        "good. None yet: push only.",
        responses=problem_responses(),
        operation_id="listMyChannels",
    )
    async def list_mine(self, request: Caller, db: Db) -> list[ContactChannel]:
        async with tenant_transaction(db, request.user) as tx:
            return await channels.list_mine(tx)

    @put(
        "/sms",
        summary="Set my mobile number; a one-time code is texted to it",
        description="The channel is unverified until `POST .../sms/verify` with the code "
        "(six digits, 15 minutes, five tries). Setting it again texts a new code (at most "
        "once a minute for the same number).",
        responses=problem_responses(422, 429),
        operation_id="setMyPhone",
    )
    async def set_phone(self, request: Caller, db: Db, data: JSONBody[PhoneIn]) -> ContactChannel:
        async with tenant_transaction(db, request.user) as tx:
            return await channels.add(tx, TextChannelName.SMS, data.number)

    @put(
        "/email",
        summary="Set my email address; a one-time code is emailed to it",
        description="The channel is unverified until `POST .../email/verify` with the code "
        "(six digits, 15 minutes, five tries).",
        responses=problem_responses(422, 429),
        operation_id="setMyEmail",
    )
    async def set_email(self, request: Caller, db: Db, data: JSONBody[EmailIn]) -> ContactChannel:
        async with tenant_transaction(db, request.user) as tx:
            return await channels.add(tx, TextChannelName.EMAIL, data.address)

    @post(
        "/{channel:str}/verify",
        status_code=200,
        summary="Verify my phone number or email address with the code it received",
        description="A wrong code counts against five tries; an expired code or too many "
        "tries is a 409: set the address again for a new code.",
        responses=problem_responses(404, 409, 422),
        operation_id="verifyMyChannel",
    )
    async def verify(
        self, request: Caller, db: Db, channel: FromPath[TextChannelName], data: JSONBody[VerifyIn]
    ) -> ContactChannel:
        async with tenant_transaction(db, request.user) as tx:
            verdict = await channels.verify(tx, channel, data.code)
        return channels.answer(verdict)  # a wrong code's attempt is committed first

    @put(
        "/",
        summary="Order my channels",
        description="Offers and reminders try these first to last; channels not named keep "
        "their place after them. Push needs no address; text and email must be set first "
        "(else 409).",
        responses=problem_responses(409, 422),
        operation_id="orderMyChannels",
    )
    async def order(self, request: Caller, db: Db, data: JSONBody[OrderIn]) -> list[ContactChannel]:
        async with tenant_transaction(db, request.user) as tx:
            return await channels.set_order(tx, data.order)

    # One DELETE per channel: a dynamic `/{channel}` beside the static `/sms` and `/email`
    # would be shadowed by them (405).
    @delete(
        "/sms",
        summary="Forget my mobile number",
        description="Offers and reminders go by the next channel in my order.",
        responses=problem_responses(404),
        operation_id="removeMyPhone",
    )
    async def remove_phone(self, request: Caller, db: Db) -> None:
        async with tenant_transaction(db, request.user) as tx:
            await channels.remove(tx, ChannelName.SMS)

    @delete(
        "/email",
        summary="Forget my email address",
        description="Offers and reminders go by the next channel in my order.",
        responses=problem_responses(404),
        operation_id="removeMyEmail",
    )
    async def remove_email(self, request: Caller, db: Db) -> None:
        async with tenant_transaction(db, request.user) as tx:
            await channels.remove(tx, ChannelName.EMAIL)

    @delete(
        "/push",
        summary="Take push out of my order",
        description="My devices stay registered; offers and reminders stop going by push.",
        responses=problem_responses(404),
        operation_id="removeMyPush",
    )
    async def remove_push(self, request: Caller, db: Db) -> None:
        async with tenant_transaction(db, request.user) as tx:
            await channels.remove(tx, ChannelName.PUSH)

    @get(
        "/digest",
        summary="My daily digest",
        description="When my next digest goes and how many messages it holds; 404 if I have "
        "not chosen one.",
        responses=problem_responses(404),
        operation_id="getMyDigest",
    )
    async def my_digest(self, request: Caller, db: Db) -> Digest:
        async with tenant_transaction(db, request.user) as tx:
            return await digest.mine(tx)

    @put(
        "/digest",
        summary="Hear of my needs once a day instead of one message each (staff)",
        description="Escalations, volunteers leaving, filled and completed needs and gap "
        "alerts are held and sent as one message (counts and a link to the work queue) at "
        "`hour` local time, by my order of channels. An urgent need's escalation still goes "
        "at once. The first digest goes at the next such hour. 403 for volunteers: their "
        "offers never wait.",
        responses=problem_responses(403, 422),
        operation_id="setMyDigest",
    )
    async def set_digest(self, request: Caller, db: Db, data: JSONBody[DigestIn]) -> Digest:
        async with tenant_transaction(db, request.user) as tx:
            return await digest.choose(tx, data)

    @delete(
        "/digest",
        summary="Stop my daily digest",
        description="Messages go one by one again; what was held goes now, as a last digest.",
        responses=problem_responses(404),
        operation_id="stopMyDigest",
    )
    async def stop_digest(self, request: Caller, db: Db) -> None:
        async with tenant_transaction(db, request.user) as tx:
            await digest.stop(tx)


class NotifyCallbackController(Controller):
    """GOV.UK Notify calls these (set their URLs and bearer token in the Notify service's
    API integration settings: README, "GOV.UK Notify")."""

    path = "/v1/notify/callbacks"
    tags = ["notify"]

    @post(
        "/delivery-status",
        status_code=204,
        summary="Notify's delivery receipt for a text or email",
        description="Authenticated by the bearer token set in the Notify service (not a "
        "user's). Updates the message and the channel's health; a permanent failure moves an "
        "offer or reminder to the person's next channel.",
        responses=problem_responses(401),
        operation_id="notifyDeliveryStatus",
        security=[{"notifyCallbackToken": []}],
    )
    async def delivery_status(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[callbacks.DeliveryReceipt]
    ) -> None:
        expected = request.app.state.settings.notify_callback_token
        callbacks.authorise(request.headers.get("authorization"), expected)
        await callbacks.delivery(db, data)

    @post(
        "/received-text",
        status_code=204,
        summary="A text message a volunteer sent to our number",
        description="Authenticated by Notify's bearer token. `YES 4821` accepts and `NO 4821` "
        "declines the offer with that reply code, from the volunteer's verified phone, once "
        "per Notify message id; anything else is answered with how to reply.",
        responses=problem_responses(401),
        operation_id="notifyReceivedText",
        security=[{"notifyCallbackToken": []}],
    )
    async def received_sms(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[callbacks.ReceivedText]
    ) -> None:
        expected = request.app.state.settings.notify_callback_token
        callbacks.authorise(request.headers.get("authorization"), expected)
        await callbacks.received(db, data)
