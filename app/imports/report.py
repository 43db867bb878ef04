"""Every row's verdict of a dry run or an apply as CSV: the command line's `--report FILE`
and the console's `verdicts.csv` write the same columns."""

from __future__ import annotations

import csv
import io

from app.imports.schemas import ImportReport

HEADER = ("line", "verdict", "user_id", "changes", "errors", "notes")


def as_csv(report: ImportReport, kind: str = "volunteers") -> str:
    """`user_id` names a volunteers' import's people, `client_id` a clients' import's."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        HEADER if kind == "volunteers" else ("line", "verdict", "client_id", *HEADER[3:])
    )
    for r in report.results:
        writer.writerow(
            [
                r.line,
                r.verdict.value,
                r.user_id or r.client_id or "",
                ";".join(r.changes),
                "; ".join(f"{e.field}: {e.message}" for e in r.errors),
                "; ".join(r.notes),
            ]
        )
    return out.getvalue()
