"""Applying one batch of an import's decisions, in the caller's transaction: a few
statements per batch, each over every row that needs it (executemany), never one round
trip per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.tables import memberships, vetting_checks, volunteers
from app.db.tenancy import Tx
from app.imports.facts import OrgRules
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


_ANALYZE = text("SELECT codeliver_import_analyze()")


async def refresh_statistics(tx: Tx) -> None:
    """ANALYZE the tables an import fills (migration 0021 says why), in its own transaction."""
    await tx.conn.execute(_ANALYZE)


_PEOPLE = text("SELECT email, user_id FROM codeliver_import_people(:org, :emails, :names)")


async def _create_people(tx: Tx, rules: OrgRules, rows: Sequence[Row]) -> dict[int, UUID]:
    """Users of the import's issuer (migration 0021), then their memberships: line -> the
    new user id."""
    found = await tx.conn.execute(
        _PEOPLE,
        {
            "org": rules.org_id,
            "emails": [r.email for r in rows],
            "names": [r.profile.display_name for r in rows],
        },
    )
    by_email = {email: user_id for email, user_id in found.all()}
    ids = {r.line: by_email[r.email] for r in rows}
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
