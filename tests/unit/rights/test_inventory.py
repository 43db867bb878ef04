"""Every column that points at a person is in the volunteer's export, withheld with a reason,
or names who acted: a new table holding a volunteer's data cannot slip past the export."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from sqlalchemy import Column, ForeignKey, MetaData, Table
from sqlalchemy.dialects.postgresql import UUID

from app.db.tables import metadata
from app.rights.inventory import ACTORS, EXPORTED, WITHHELD, kept


def _person_columns(meta: MetaData) -> set[str]:
    found = set()
    for table in meta.tables.values():
        for column in table.columns:
            targets = {fk.target_fullname.split(".")[0] for fk in column.foreign_keys}
            named = column.name.endswith(("user_id", "volunteer_id"))
            if named or targets & {"users", "volunteers"}:
                found.add(f"{table.name}.{column.name}")
    return found


def _unaccounted(meta: MetaData) -> set[str]:
    return _person_columns(meta) - set(EXPORTED) - set(WITHHELD) - ACTORS


def test_every_column_about_a_person_is_exported_withheld_or_an_actor() -> None:
    assert _unaccounted(metadata) == set()


def test_a_new_table_with_a_volunteer_id_is_caught() -> None:
    copy = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(copy)
    Table(
        "volunteer_badges",
        copy,
        Column("volunteer_id", UUID(as_uuid=True), ForeignKey("users.id")),
        Column("awarded_by_user_id", UUID(as_uuid=True)),
    )
    assert _unaccounted(copy) == {
        "volunteer_badges.volunteer_id",
        "volunteer_badges.awarded_by_user_id",
    }


def test_the_inventory_names_only_real_columns_each_once() -> None:
    named = [*EXPORTED, *WITHHELD, *ACTORS]
    assert len(named) == len(set(named))
    for entry in named:
        table, column = entry.split(".")
        assert column in metadata.tables[table].columns, entry
    assert all(len(reason) > 20 for reason in WITHHELD.values())


def test_what_is_kept_runs_to_each_organisations_retention() -> None:
    six_years, ten_years = uuid4(), uuid4()
    out = kept([(ten_years, 120), (six_years, None)], date(2026, 2, 28))
    until = {k.org_id: k.until for k in out}
    assert until[six_years] == date(2032, 2, 28)  # no setting: the default, 72 months
    assert until[ten_years] == date(2036, 2, 28)
    assert [k.org_id for k in out].count(six_years) == 2  # checks; assignments and the rest
    assert out[-1].org_id is None
    assert out[-1].until is None
