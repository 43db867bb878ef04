from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.vetting import DbsLevel, Vetting, satisfies, stricter

levels = st.sampled_from(list(DbsLevel))
TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("held", "required", "ok"),
    [
        (DbsLevel.ENHANCED, DbsLevel.BASIC, True),
        (DbsLevel.BASIC, DbsLevel.STANDARD, False),
        (DbsLevel.ENHANCED, DbsLevel.ENHANCED_CHILDREN, False),
        (DbsLevel.ENHANCED_CHILDREN, DbsLevel.ENHANCED_ADULTS, False),
        (DbsLevel.ENHANCED_BOTH, DbsLevel.ENHANCED_ADULTS, True),
        (DbsLevel.ENHANCED_ADULTS, DbsLevel.STANDARD, True),
        (DbsLevel.NONE, DbsLevel.NONE, True),
    ],
)
def test_what_satisfies_a_requirement(held: DbsLevel, required: DbsLevel, ok: bool) -> None:
    assert satisfies(held, required) is ok


@given(levels, levels, levels)
def test_satisfies_is_a_partial_order(a: DbsLevel, b: DbsLevel, c: DbsLevel) -> None:
    assert satisfies(a, a)
    if satisfies(a, b) and satisfies(b, c):
        assert satisfies(a, c)
    if satisfies(a, b) and satisfies(b, a):
        assert a == b


@given(levels, levels, levels)
def test_stricter_is_the_least_level_meeting_both(
    a: DbsLevel, b: DbsLevel, other: DbsLevel
) -> None:
    both = stricter(a, b)
    assert satisfies(both, a)
    assert satisfies(both, b)
    if satisfies(other, a) and satisfies(other, b):
        assert satisfies(other, both)


def _check(**kw: object) -> Vetting:
    base: dict[str, object] = {
        "level": DbsLevel.ENHANCED_CHILDREN,
        "checked_on": TODAY,
        "expires_on": TODAY + timedelta(days=365),
        "id_verified": True,
    }
    return Vetting(**{**base, **kw})  # type: ignore[arg-type]


def test_eligibility_expires_by_itself() -> None:
    check = _check(expires_on=TODAY + timedelta(days=1))
    assert check.meets(DbsLevel.ENHANCED_CHILDREN, TODAY)
    assert not check.meets(DbsLevel.ENHANCED_CHILDREN, TODAY + timedelta(days=1))
    assert check.meets(DbsLevel.NONE, TODAY + timedelta(days=30))  # no check needed


def test_identity_must_be_verified_for_any_check() -> None:
    assert not _check(id_verified=False).meets(DbsLevel.BASIC, TODAY)


@pytest.mark.parametrize("flag", ["barred_children", "barred_adults"])
def test_anyone_on_a_barred_list_gets_no_work(flag: str) -> None:
    assert not _check(**{flag: True}).meets(DbsLevel.NONE, TODAY)
    assert not _check(**{flag: True}).meets(DbsLevel.BASIC, TODAY)
