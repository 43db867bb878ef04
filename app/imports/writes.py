"""Applying one batch of an import's decisions, in the caller's transaction: a few
statements per batch, each over every row that needs it (executemany), never one round
trip per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.tables import memberships, users, vetting_checks, volunteers
from app.db.tenancy import Tx
from app.imports.facts import IMPORT_ISSUER, OrgRules
from app.locations import Location
from matching.volunteer_import import Decision, Profile, Row, Verdict


def _profile_values(p: Profile) -> dict[str, Any]:
    return {
        "display_name": p.display_name,
        "home": Location(lat=p.lat, lon=p.lon).to_geography(),
        "max_travel_km": p.max_travel_km,
        "travel_mode": p.travel_mode,
        "skills": list(p.skills),
        "languages": list(p.languages),
        "max_hours_per_week": p.max_hours_per_week,
        "max_active_assignments": p.max_active_assignments,
        "preferred_kinds": list(p.preferred_kinds),
        "quiet_hours_start": p.quiet_hours_start,
        "quiet_hours_end": p.quiet_hours_end,
        "time_zone": p.time_zone,
    }


def subject(org_id: UUID, email: str) -> str:
    return f"{org_id}:{email}"


async def _create_people(tx: Tx, rules: OrgRules, rows: Sequence[Row]) -> dict[int, UUID]:
    """Users of the import's issuer, then their memberships: line -> the new user id."""
    subjects = {subject(rules.org_id, r.email): r for r in rows}
    await tx.conn.execute(
        pg_insert(users).on_conflict_do_nothing(),
        [
            {
                "issuer": IMPORT_ISSUER,
                "subject": s,
                "email": r.email,
                "display_name": r.profile.display_name,
            }
            for s, r in subjects.items()
        ],
    )
    found = await tx.conn.execute(
        select(users.c.id, users.c.subject).where(
            users.c.issuer == IMPORT_ISSUER, users.c.subject.in_(list(subjects))
        )
    )
    ids = {subjects[s].line: uid for uid, s in found.all()}
    await tx.conn.execute(
        pg_insert(memberships).on_conflict_do_nothing(),
        [
            {
                "org_id": rules.org_id,
                "user_id": ids[r.line],
                "role": "volunteer",
                "status": "approved",  # existing volunteers of the organisation
                "created_by": tx.principal.user_id,
                "external_id": r.external_id,
            }
            for r in rows
        ],
    )
    return ids


PROFILE_FIELDS = frozenset(Profile.__dataclass_fields__)
WRITES = frozenset({Verdict.CREATED, Verdict.UPDATED})


async def _write_profiles(tx: Tx, profiled: Sequence[tuple[Decision, Row]]) -> None:
    """New profiles inserted; an imported volunteer's rewritten whole (the file describes
    them, and nobody else keeps their profile until they sign in)."""
    if not profiled:
        return
    values = [{"user_id": d.user_id, **_profile_values(r.profile)} for d, r in profiled]
    stmt = pg_insert(volunteers)
    await tx.conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id"],
            set_={name: stmt.excluded[name] for name in values[0] if name != "user_id"}
            | {"updated_at": tx.now},
        ),
        values,
    )


async def apply_batch(
    tx: Tx, rules: OrgRules, rows: Sequence[Row], decisions: Sequence[Decision]
) -> list[Decision]:
    """Writes what the decisions say; returns them with the new volunteers' ids."""
    by_line = {r.line: r for r in rows}
    created = [by_line[d.line] for d in decisions if d.verdict is Verdict.CREATED]
    new_ids = await _create_people(tx, rules, created) if created else {}
    done = [
        Decision(d.verdict, d.line, new_ids[d.line], d.changes, notes=d.notes)
        if d.verdict is Verdict.CREATED
        else d
        for d in decisions
    ]
    writing = [(d, by_line[d.line]) for d in done if d.verdict in WRITES]
    await _write_profiles(tx, [(d, r) for d, r in writing if PROFILE_FIELDS & set(d.changes)])
    ids = [
        {"o": rules.org_id, "u": d.user_id, "x": r.external_id}
        for d, r in writing
        if d.verdict is Verdict.UPDATED and "external_id" in d.changes
    ]
    if ids:
        await tx.conn.execute(
            update(memberships)
            .where(
                and_(
                    memberships.c.org_id == bindparam("o"),
                    memberships.c.user_id == bindparam("u"),
                    memberships.c.role == "volunteer",
                )
            )
            .values(external_id=bindparam("x")),
            ids,
        )
    checks = [_check_values(tx, rules, d, r) for d, r in writing if "vetting" in d.changes]
    if checks:
        await tx.conn.execute(insert(vetting_checks), checks)
    return done


def _check_values(tx: Tx, rules: OrgRules, d: Decision, r: Row) -> dict[str, Any]:
    check = r.check
    assert check is not None
    return {
        "org_id": rules.org_id,
        "user_id": d.user_id,
        "level": check.level.value,
        "checked_on": check.checked_on,
        "expires_on": r.expires_on,
        "id_verified": check.id_verified,
        "barred_children": check.barred_children,
        "barred_adults": check.barred_adults,
        "update_service": check.update_service,
        "notes": "recorded by an import",
        "recorded_by": tx.principal.user_id,
    }
