"""The verdict of an import's row, from the row and the volunteers it names."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from matching.vetting import DbsLevel
from matching.volunteer_import import (
    CHANGED_SINCE_DRY_RUN,
    Check,
    Known,
    Profile,
    Row,
    Verdict,
    decide,
    duplicates,
    fingerprint,
    plan,
)

PROFILE = Profile(
    display_name="Ada",
    lat=51.45,
    lon=-0.97,
    max_travel_km=5.0,
    travel_mode="walk",
    skills=("shopping",),
    languages=("en",),
    max_hours_per_week=6,
    max_active_assignments=2,
    preferred_kinds=(),
    quiet_hours_start=time(21),
    quiet_hours_end=time(8),
    time_zone="Europe/London",
)
CHECK = Check(DbsLevel.ENHANCED, date(2025, 3, 1), True, False, False, True)


def row(line: int = 2, email: str = "ada@example.org", **kw: object) -> Row:
    return Row(
        line, email, kw.pop("external_id", None), kw.pop("profile", PROFILE), kw.pop("check", CHECK)
    )  # type: ignore[arg-type]


def known(imported: bool = True, **kw: object) -> Known:
    values: dict[str, object] = {
        "user_id": uuid4(),
        "email": "ada@example.org",
        "external_id": None,
        "imported": imported,
        "profile": PROFILE,
        "check": CHECK,
    } | kw
    return Known(**values)  # type: ignore[arg-type]


def test_a_new_person_is_created_with_everything_the_row_says() -> None:
    d = decide(row(external_id="HR-1"), None, None)
    assert d.verdict is Verdict.CREATED
    assert {"display_name", "lat", "email", "external_id", "vetting"} <= set(d.changes)


def test_the_same_row_again_is_unchanged() -> None:
    assert decide(row(), None, known()).verdict is Verdict.UNCHANGED
    k = known(external_id="HR-1")
    assert decide(row(external_id="HR-1"), k, k).verdict is Verdict.UNCHANGED


def test_an_imported_volunteers_profile_follows_the_file() -> None:
    d = decide(row(profile=replace(PROFILE, max_hours_per_week=8)), None, known())
    assert (d.verdict, d.changes) == (Verdict.UPDATED, ("max_hours_per_week",))


def test_a_volunteer_who_signed_up_keeps_their_profile_but_gets_the_check() -> None:
    newer = Check(DbsLevel.ENHANCED_BOTH, date(2026, 1, 5), True, False, False, False)
    d = decide(
        row(profile=replace(PROFILE, display_name="Ada L"), check=newer),
        None,
        known(imported=False),
    )
    assert (d.verdict, d.changes) == (Verdict.UPDATED, ("vetting",))
    assert "display_name" in d.notes[0]
    d = decide(row(profile=replace(PROFILE, display_name="Ada L")), None, known(imported=False))
    assert d.verdict is Verdict.UNCHANGED


def test_a_row_without_dbs_columns_leaves_the_check_alone() -> None:
    assert decide(row(check=None), None, known()).verdict is Verdict.UNCHANGED


def test_external_id_and_email_must_name_one_volunteer() -> None:
    a, b = known(external_id="HR-1"), known(email="bob@example.org")
    d = decide(row(external_id="HR-1", email="bob@example.org"), a, b)
    assert (d.verdict, d.field) == (Verdict.REFUSED, "external_id")
    d = decide(row(external_id="HR-1", email="new@example.org"), a, None)
    assert (d.verdict, d.field) == (Verdict.REFUSED, "email")
    d = decide(row(external_id="HR-2"), None, known(external_id="HR-1"))
    assert (d.verdict, d.field) == (Verdict.REFUSED, "external_id")
    d = decide(row(external_id="HR-2"), None, known())
    assert (d.verdict, d.changes) == (Verdict.UPDATED, ("external_id",))


def test_the_first_of_repeated_rows_counts() -> None:
    rows = [
        row(2),
        row(3, email="b@x.org", external_id="X"),
        row(4),
        row(5, email="c@x.org", external_id="X"),
    ]
    assert duplicates(rows) == {4: ("email", 2), 5: ("external_id", 3)}
    verdicts = [d.verdict for d in plan(rows, {}, {}, duplicates(rows))]
    assert verdicts == [Verdict.CREATED, Verdict.CREATED, Verdict.REFUSED, Verdict.REFUSED]


def test_a_volunteer_changed_since_the_dry_run_is_refused() -> None:
    k = known()
    seen = {2: fingerprint(None, k)}
    assert plan([row()], {}, {k.email or "": k}, {}, seen)[0].verdict is Verdict.UNCHANGED
    changed = replace(k, check=None)
    d = plan([row()], {}, {k.email or "": changed}, {}, seen)[0]
    assert (d.verdict, d.message) == (Verdict.REFUSED, CHANGED_SINCE_DRY_RUN)
    # A row that named nobody at the dry run, and someone now, is refused too.
    d = plan([row()], {}, {k.email or "": k}, {}, {2: ""})[0]
    assert d.verdict is Verdict.REFUSED


@given(st.integers(1, 80), st.booleans(), st.sampled_from(list(DbsLevel)))
def test_applying_a_decision_makes_the_row_unchanged(
    hours: int, imported: bool, level: DbsLevel
) -> None:
    """What an apply writes is what the next decision compares with: idempotency."""
    wanted = row(
        profile=replace(PROFILE, max_hours_per_week=hours), check=replace(CHECK, level=level)
    )
    before = known(imported=imported)
    d = decide(wanted, None, before)
    after = replace(
        before,
        profile=wanted.profile if imported else before.profile,
        check=wanted.check if "vetting" in d.changes else before.check,
    )
    assert decide(wanted, None, after).verdict is Verdict.UNCHANGED
