"""HTTP for a volunteer's own data rights: the export and erasure."""

from __future__ import annotations

from litestar import Controller, get, post

from app.db.tenancy import Db, tenant_transaction
from app.identity.tokens import Caller
from app.problems import problem_responses
from app.rights import erasure, export
from app.rights.schemas import Erasure, VolunteerExport


class MyDataRightsController(Controller):
    path = "/v1/volunteers/me"
    tags = ["volunteers"]

    @get(
        "/export",
        summary="Everything held about me, as one document (subject access)",
        responses=problem_responses(),
        operation_id="exportMyData",
    )
    async def export(self, request: Caller, db: Db) -> VolunteerExport:
        """Everything Codeliver holds about the caller (UK GDPR Article 15): the sign-in
        record, profile, live location while on duty, availability, enrolments and roles, DBS
        checks with the staff's notes, devices (each by its token's last characters: a push
        token is a delivery address, not information about you), channels, every offer and
        assignment (with the need's coarse facts only, never the client's name or exact
        place), the messages sent, and the audit log's rows about the caller: who read or
        changed their record, and when. `kept_on_erasure` says what an erasure today would
        keep, why and until when; `not_included` what is held but left out, and why. The
        export is itself recorded as a read, and lists its own entry."""
        async with tenant_transaction(db, request.user) as tx:
            return await export.export(tx)

    @post(
        "/erasure",
        status_code=200,
        summary="Erase my data (what safeguarding must keep is said plainly)",
        responses=problem_responses(409),
        operation_id="eraseMyData",
    )
    async def erase(self, request: Caller, db: Db) -> Erasure:
        """Erases the caller (UK GDPR Article 17), in one transaction: their pending offers are
        declined and their coming assignments withdrawn (the slots reopen and the offers go
        on to others), they leave every organisation, and their profile, home and live
        location, availability, devices, channels and contact details, messages, and the name,
        e-mail and sign-in identity on their account are deleted. What safeguarding needs is
        kept under their user id as a pseudonym, never with a name or contact detail: DBS
        check records (without the staff's notes), past assignments and no-shows, decisions
        keeping them from a client, the offers on each need's record (without reasons), for
        the organisation's retention period from today (`kept[].until`); and the audit log.
        Afterwards the same sign-in starts a new, empty account, so a repeat is a no-op
        (`erased_at` null). A 409 while a visit is under way, or for anyone with a staff
        role (their organisation closes staff accounts)."""
        async with tenant_transaction(db, request.user) as tx:
            return await erasure.erase(tx)
