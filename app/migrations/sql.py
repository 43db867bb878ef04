"""Helpers for hand-written SQL in migrations."""

from __future__ import annotations

from collections.abc import Iterator


def sql_statements(script: str) -> Iterator[str]:
    """Split a script into statements: asyncpg prepares each one, so they go one at a time.

    Statements end with a `;` at the end of a line outside a `$$` function body.
    """
    statement: list[str] = []
    in_body = False
    for line in script.splitlines():
        statement.append(line)
        in_body ^= line.count("$$") % 2 == 1
        if not in_body and line.rstrip().endswith(";"):
            yield "\n".join(statement)
            statement = []
    if "".join(statement).strip():
        yield "\n".join(statement)
