"""HTTP for volunteers: the mobile app's own endpoints and the coordinators' ones."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app import idempotency
from app.conditional import NOT_MODIFIED, conditional
from app.db.tenancy import Db, tenant_transaction
from app.http_params import AccessReason, IdempotencyKey
from app.http_responses import LOCATION, created
from app.identity.tokens import Caller
from app.pagination import Cursor, Limit, Page
from app.problems import problem_responses
from app.volunteers import coordination, devices, schedule, service
from app.volunteers.availability import Availability
from app.volunteers.coordination import (
    RosterEntry,
    StatusChange,
    SuspendIn,
    VettingIn,
    VolunteerRecord,
)
from app.volunteers.roster_filters import RosterFilter, VettingFilter
from app.volunteers.schedule import AvailabilityView
from app.volunteers.schemas import (
    Device,
    DeviceIn,
    Duty,
    DutyIn,
    EnrolIn,
    ProfilePatch,
    SignUp,
    Volunteer,
)
from matching.vetting import DbsLevel

WithinDays = Annotated[
    int, QueryParameter(ge=1, le=366, description="With vetting=lapsing: days ahead, 1..366")
]


class MyVolunteeringController(Controller):
    path = "/v1/volunteers/me"
    tags = ["volunteers"]

    @post(
        "/",
        summary="Sign up as a volunteer",
        responses=problem_responses(409),
        operation_id="signUp",
        response_headers=LOCATION,
    )
    async def sign_up(
        self,
        request: Caller,
        db: Db,
        data: JSONBody[SignUp],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Volunteer]:
        """Creates the caller's volunteer profile and asks to join the organisations named. A second
        sign-up is a 409."""
        volunteer = await idempotency.run_once(
            request, db, idempotency_key, Volunteer, lambda tx: service.sign_up(tx, data)
        )
        return created(volunteer, self.path)

    @get(
        "/",
        summary="My profile, organisations and vetting status",
        description="Carries an `ETag`: send it back as `If-None-Match` to get an empty 304 "
        "while nothing changed.",
        responses={**problem_responses(404), **NOT_MODIFIED},
        operation_id="getMyVolunteer",
    )
    async def get_me(self, request: Caller, db: Db) -> Response[Volunteer]:
        async with tenant_transaction(db, request.user) as tx:
            return conditional(request, await service.me(tx))

    @patch(
        "/",
        summary="Change my profile",
        responses=problem_responses(404),
        operation_id="updateMyVolunteer",
    )
    async def update_me(self, request: Caller, db: Db, data: JSONBody[ProfilePatch]) -> Volunteer:
        """Changes the fields sent (at least one); the others stay."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.update_me(tx, data)

    @post(
        "/enrolments",
        summary="Join an organisation (pending until approved)",
        description="`Location` is my profile, which lists my enrolments.",
        responses=problem_responses(404),
        operation_id="enrolMe",
        response_headers=LOCATION,
    )
    async def enrol(
        self,
        request: Caller,
        db: Db,
        data: JSONBody[EnrolIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Volunteer]:
        """Asks to join an organisation by its slug; pending until a coordinator approves."""
        volunteer = await idempotency.run_once(
            request, db, idempotency_key, Volunteer, lambda tx: service.enrol(tx, data.organisation)
        )
        return created(volunteer, self.path)

    @put(
        "/availability",
        summary="Replace my weekly availability, exceptions and away-until",
        responses=problem_responses(404),
        operation_id="setMyAvailability",
    )
    async def set_availability(
        self, request: Caller, db: Db, data: JSONBody[Availability]
    ) -> AvailabilityView:
        """Replaces the weekly pattern, dated exceptions and away-until at once, in the profile's
        time zone; the answer lists the next spans they give."""
        async with tenant_transaction(db, request.user) as tx:
            return await schedule.replace(tx, data)

    @get(
        "/availability",
        summary="My availability and my next available spans",
        responses=problem_responses(404),
        operation_id="getMyAvailability",
    )
    async def get_availability(self, request: Caller, db: Db) -> AvailabilityView:
        """What was declared, and the next available spans (UTC, at most 20)."""
        async with tenant_transaction(db, request.user) as tx:
            return await schedule.view(tx)

    @post(
        "/duty",
        status_code=200,
        summary="Go on or off duty",
        responses=problem_responses(404),
        operation_id="setMyDuty",
    )
    async def duty(
        self,
        request: Caller,
        db: Db,
        data: JSONBody[DutyIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Duty:
        """On duty until a time or until turned off, optionally sharing a location while on duty; it
        is erased when duty ends."""
        return await idempotency.run_once(
            request, db, idempotency_key, Duty, lambda tx: service.set_duty(tx, data)
        )

    @post(
        "/devices",
        summary="Register this device for push",
        responses=problem_responses(),
        operation_id="registerDevice",
        response_headers=LOCATION,
    )
    async def add_device(
        self,
        request: Caller,
        db: Db,
        data: JSONBody[DeviceIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Device]:
        """Registers an FCM registration token or a Firebase installation id to receive pushes."""
        device = await idempotency.run_once(
            request, db, idempotency_key, Device, lambda tx: devices.register(tx, data)
        )
        return created(device, f"{self.path}/devices/{device.id}")

    @get(
        "/devices",
        summary="My registered devices",
        responses=problem_responses(),
        operation_id="listMyDevices",
    )
    async def list_devices(self, request: Caller, db: Db) -> list[Device]:
        """The caller's devices registered for push, each shown by its token's last characters."""
        async with tenant_transaction(db, request.user) as tx:
            return await devices.list_mine(tx)

    @delete(
        "/devices/{device_id:uuid}",
        summary="Forget a device",
        responses=problem_responses(404),
        operation_id="removeDevice",
    )
    async def remove_device(self, request: Caller, db: Db, device_id: FromPath[UUID]) -> None:
        """Stops pushes to that device."""
        async with tenant_transaction(db, request.user) as tx:
            await devices.remove(tx, device_id)


class VolunteerRosterController(Controller):
    path = "/v1/volunteers"
    tags = ["volunteers"]

    @get(
        "/",
        summary="Volunteers enrolled in my organisation",
        responses=problem_responses(403, 404),
        operation_id="listVolunteers",
    )
    async def roster(
        self,
        request: Caller,
        db: Db,
        org_id: FromQuery[UUID | None] = None,
        status: FromQuery[Literal["pending", "approved", "suspended"] | None] = None,
        vetting: FromQuery[VettingFilter | None] = None,
        within_days: WithinDays = 30,
        level: FromQuery[DbsLevel | None] = None,
        no_shows: FromQuery[bool | None] = None,
        programme: FromQuery[UUID | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
        access_reason: AccessReason = None,
    ) -> Page[RosterEntry]:
        """A page of the volunteers enrolled in the caller's organisation (or `org_id`): by
        membership `status`; by their current DBS check, `vetting` = `valid` (counts today),
        `lapsing` (valid, and lapses within `within_days`, 30 by default), `lapsed` or `none`;
        by `level` (a valid check meeting it); by `no_shows` (true: has missed a visit for the
        organisation; false: never); by `programme` (a programme's id: whose current check
        lets them take its needs today, by matching's rule: its required level, identity
        verified, not expired, on no barred list; another organisation's programme is a
        422). Each row counts its `no_shows`. Staff only. Each volunteer listed is an audited
        read of their record (`volunteer.read`, with `X-Access-Reason` or "volunteer
        management"), as client reads are."""
        filters = RosterFilter(status, vetting, within_days, level, no_shows, programme)
        async with tenant_transaction(db, request.user) as tx:
            items, next_cursor = await coordination.roster(
                tx, org_id=org_id, filters=filters, limit=limit, cursor=cursor, reason=access_reason
            )
        return Page(items=items, next_cursor=next_cursor)

    @get(
        "/{volunteer_id:uuid}",
        summary="One volunteer, with vetting history",
        responses=problem_responses(403, 404),
        operation_id="getVolunteer",
    )
    async def record(
        self,
        request: Caller,
        db: Db,
        volunteer_id: FromPath[UUID],
        org_id: FromQuery[UUID | None] = None,
        access_reason: AccessReason = None,
    ) -> VolunteerRecord:
        """One enrolled volunteer, with their enrolment and vetting history. Staff only; an
        audited read of their record (`volunteer.read`, with `X-Access-Reason`). Approving,
        suspending and recording vetting answer with the record too, and are audited reads
        as well."""
        async with tenant_transaction(db, request.user) as tx:
            return await coordination.record(tx, volunteer_id, org_id, access_reason)

    @post(
        "/{volunteer_id:uuid}/approve",
        status_code=200,
        summary="Approve a volunteer",
        responses=problem_responses(403, 404, 409),
        operation_id="approveVolunteer",
    )
    async def approve(
        self, request: Caller, db: Db, volunteer_id: FromPath[UUID], data: JSONBody[StatusChange]
    ) -> VolunteerRecord:
        """Approves the volunteer's enrolment: they may be offered needs from now on. Coordinators
        only."""
        async with tenant_transaction(db, request.user) as tx:
            return await coordination.change_status(tx, volunteer_id, "approve", data)

    @post(
        "/{volunteer_id:uuid}/suspend",
        status_code=200,
        summary="Suspend a volunteer",
        responses=problem_responses(403, 404, 409),
        operation_id="suspendVolunteer",
    )
    async def suspend(
        self, request: Caller, db: Db, volunteer_id: FromPath[UUID], data: JSONBody[SuspendIn]
    ) -> VolunteerRecord:
        """Suspends the volunteer's enrolment, with a reason (required): no offers until approved
        again. Coordinators only."""
        async with tenant_transaction(db, request.user) as tx:
            return await coordination.change_status(tx, volunteer_id, "suspend", data)

    @put(
        "/{volunteer_id:uuid}/vetting",
        summary="Record a DBS check (history is kept)",
        responses=problem_responses(403, 404, 409),
        operation_id="recordVetting",
    )
    async def vetting(
        self, request: Caller, db: Db, volunteer_id: FromPath[UUID], data: JSONBody[VettingIn]
    ) -> VolunteerRecord:
        """Records a DBS check; earlier checks are kept as history. Coordinators only."""
        async with tenant_transaction(db, request.user) as tx:
            return await coordination.record_vetting(tx, volunteer_id, data)
