"""Build the simulated borough through the same use cases the API calls, each in a
`tenant_transaction` as the principal who would call it: the platform admin creates the
organisation, its admin adds staff, each volunteer signs up, declares availability,
registers a phone and goes on duty (one transaction as themselves, one sitting of the
app's sign-up), a coordinator approves and records the vetting of a group of them (one
transaction as the coordinator), a caseworker registers the clients."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from uuid import UUID

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clients import service as clients
from app.clients.schemas import ClientIn
from app.db.tenancy import Tx, tenant_transaction
from app.identity.principal import Role
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.locations import Location
from app.orgs import service as orgs
from app.orgs.schemas import MemberIn, OrganisationIn, OrgKind
from app.programmes import service as programmes
from app.programmes.schemas import ProgrammeIn
from app.seed import ensure_user
from app.simulation.world import PATTERNS, PROGRAMMES, VolunteerSpec, World
from app.volunteers import coordination, devices, schedule
from app.volunteers import service as volunteers
from app.volunteers.availability import Availability, WeeklyWindow
from app.volunteers.coordination import StatusChange, VettingIn
from app.volunteers.schemas import DeviceIn, DutyIn, Platform, QuietHours, SignUp, TravelMode
from matching.model import ProgrammeKind
from matching.vetting import DbsLevel

ORG = "sim-borough"
# Groups in flight at once (within the engine's pool of 5 + 10), and the volunteers of a
# group, whom a coordinator approves and vets in one transaction.
AT_ONCE, GROUP = 8, 25
ADMIN, COORDINATOR, CASEWORKER = "sim-platform-admin", "sim-coordinator", "sim-caseworker"


def identity(subject: str) -> TokenIdentity:
    return TokenIdentity(DEV_ISSUER, subject, f"{subject}@sim.codeliver.invalid", subject)


@dataclass
class Built:
    """The ids the run needs to act on the world."""

    org_id: UUID
    programmes: dict[str, UUID]
    volunteers: dict[int, UUID]  # VolunteerSpec.n -> user id
    by_user: dict[UUID, VolunteerSpec] = field(default_factory=dict)
    clients: list[UUID] = field(default_factory=list)
    client_words: list[tuple[str, ...]] = field(default_factory=list)  # for the privacy check


async def _staff(engine: AsyncEngine, org_id: UUID) -> None:
    for subject, role in ((COORDINATOR, Role.COORDINATOR), (CASEWORKER, Role.CASEWORKER)):
        async with tenant_transaction(engine, identity(subject)) as tx:
            user_id = tx.principal.user_id
        async with tenant_transaction(engine, identity(ADMIN)) as tx:
            await orgs.add_member(tx, org_id, MemberIn(role=role, user_id=user_id))


def _sign_up(v: VolunteerSpec) -> SignUp:
    return SignUp(
        display_name=f"Volunteer {v.n}",
        home=Location(lat=v.lat, lon=v.lon),
        max_travel_km=v.radius_km,
        travel_mode=TravelMode(v.mode),
        skills=list(v.skills),
        languages=["en", *v.languages],
        max_hours_per_week=v.hours_per_week,
        max_active_assignments=v.active_cap,
        quiet_hours=QuietHours(start=time(22), end=time(7)) if v.quiet else None,
        organisations=[ORG],
    )


async def _volunteer(engine: AsyncEngine, v: VolunteerSpec) -> UUID:
    """The volunteer's own calls, in one transaction as them (as one sitting of the app's
    sign-up flow): sign up, declare weekly availability, register a phone, go on duty."""
    async with tenant_transaction(engine, identity(v.subject)) as tx:
        profile = await volunteers.sign_up(tx, _sign_up(v))
        days, first, last = PATTERNS[v.pattern]
        weekly = [WeeklyWindow(day=d, start=time(first), end=time(last)) for d in days]
        await schedule.replace(tx, Availability(time_zone="Europe/London", weekly=weekly))
        token = f"sim-device-{v.n:05d}-token"
        await devices.register(tx, DeviceIn(token=token, platform=Platform.ANDROID))
        if v.on_duty:
            await volunteers.set_duty(tx, DutyIn(on_duty=True))
    return profile.user_id


async def _vet(tx: Tx, user_id: UUID, v: VolunteerSpec, today: date) -> None:
    """The coordinator approves the volunteer and records their vetting."""
    await coordination.change_status(tx, user_id, "approve", StatusChange())
    level = DbsLevel(v.vetting)
    # A lapsed check was issued longer ago than the organisation's recheck period.
    issued = today - (relativedelta(months=37) if v.vetting_lapsed else timedelta(days=90))
    checked = None if level is DbsLevel.NONE else issued
    await coordination.record_vetting(
        tx, user_id, VettingIn(level=level, checked_on=checked, id_verified=True)
    )


async def _volunteers(
    engine: AsyncEngine, people: Sequence[VolunteerSpec], today: date
) -> list[UUID]:
    """`AT_ONCE` at a time, groups of `GROUP`: each volunteer of the group signs up, then the
    coordinator approves and vets the whole group in one sitting (one transaction)."""
    groups = [list(people[i : i + GROUP]) for i in range(0, len(people), GROUP)]
    ids: dict[int, UUID] = {}
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(group: list[VolunteerSpec]) -> None:
        async with gate:
            for v in group:
                ids[v.n] = await _volunteer(engine, v)
            async with tenant_transaction(engine, identity(COORDINATOR)) as tx:
                for v in group:
                    await _vet(tx, ids[v.n], v, today)

    await asyncio.gather(*(one(g) for g in groups))
    return [ids[v.n] for v in people]


async def build(engine: AsyncEngine, owner: AsyncEngine, world: World, today: date) -> Built:
    async with owner.begin() as conn:  # the platform's first administrator, as `seed` makes
        await ensure_user(conn, ADMIN, "Simulation admin", platform_admin=True)
    async with tenant_transaction(engine, identity(ADMIN)) as tx:
        org = await orgs.create_organisation(
            tx, OrganisationIn(name="Simulated Borough", slug=ORG, kind=OrgKind.COUNCIL)
        )
    await _staff(engine, org.id)
    built = Built(org.id, {}, {})
    async with tenant_transaction(engine, identity(COORDINATOR)) as tx:
        for key, (kind, vetting) in PROGRAMMES.items():
            p = await programmes.create(
                tx,
                ProgrammeIn(
                    name=key.title(), kind=ProgrammeKind(kind), min_vetting=DbsLevel(vetting)
                ),
            )
            built.programmes[key] = p.id
    people = world.volunteers
    for v, user_id in zip(people, await _volunteers(engine, people, today), strict=True):
        built.volunteers[v.n], built.by_user[user_id] = user_id, v
    async with tenant_transaction(engine, identity(CASEWORKER)) as tx:
        for c in range(world.clients):
            name, address, phone = f"Client Person {c}", f"{c} Simulation Road", f"0118{c:07d}"
            anchor = world.needs[0] if world.needs else None
            lat, lon = (anchor.lat, anchor.lon) if anchor else (51.45, -0.97)
            client = await clients.create(
                tx,
                ClientIn(
                    name=name, address=address, phone=phone, location=Location(lat=lat, lon=lon)
                ),
            )
            built.clients.append(client.id)
            built.client_words.append((name, address, phone))
    return built
