"""notifications names the columns it uses; the app defines the tables. They must agree."""

from __future__ import annotations

import pytest
from sqlalchemy import TableClause

from app.db.tables import metadata
from notifications import tables


@pytest.mark.parametrize("clause", [tables.outbox, tables.devices, tables.memberships])
def test_every_column_named_here_is_the_apps(clause: TableClause) -> None:
    table = metadata.tables[clause.name]
    for column in clause.c:
        assert column.name in table.c, f"{clause.name}.{column.name} is not in app.db.tables"
        assert type(column.type) is type(table.c[column.name].type), (
            f"{clause.name}.{column.name}: {column.type!r} here, {table.c[column.name].type!r}"
        )
