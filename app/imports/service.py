"""Importing volunteers: a dry run that says what each row would do, then an apply in
batches, each its own transaction. The command line and the API share these use cases.

Batches of BATCH_ROWS rows: one transaction locks the memberships its rows name and holds
the organisation's import lock for a few hundred milliseconds, so a coordinator's edit of
a volunteer waits at most that long, and a failure loses one batch's work, not the file's.
Bigger batches save little: at 1,000 rows the statements are already few per batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app import audit
from app.db.tables import volunteer_imports
from app.db.tenancy import Tx, tenant_transaction
from app.errors import Conflict, NotFound
from app.identity.tokens import TokenIdentity
from app.imports.columns import Checked, Refusal, read
from app.imports.facts import OrgRules, known, org_rules
from app.imports.schemas import Counts, ImportReport, ImportStatus, RowError, RowResult
from app.imports.writes import apply_batch, refresh_statistics
from matching.volunteer_import import Decision, Row, Verdict, duplicates, fingerprint, plan

BATCH_ROWS = 1_000
ANALYZE_EVERY_ROWS = 10_000  # fresh statistics as the tables grow (migration 0021)
Progress = Callable[[int, int], None]  # (rows just done, rows in all)


def results_of(refused: Sequence[Refusal], decisions: Sequence[Any]) -> list[RowResult]:
    """Every row's result, by line: the refused ones and the decisions (a volunteers' or a
    clients' import's, which name a user or a client)."""
    results = [
        RowResult(
            line=r.line,
            verdict=Verdict.REFUSED,
            errors=[RowError(field=e.field, message=e.message) for e in r.errors],
        )
        for r in refused
    ] + [
        RowResult(
            line=d.line,
            verdict=d.verdict,
            user_id=getattr(d, "user_id", None),
            client_id=getattr(d, "client_id", None),
            changes=list(d.changes),
            errors=[RowError(field=d.field, message=d.message)] if d.field and d.message else [],
            notes=list(d.notes),
        )
        for d in decisions
    ]
    return sorted(results, key=lambda r: r.line)


def counts_of(results: Sequence[RowResult]) -> Counts:
    tally = Counter(r.verdict.value for r in results)
    return Counts(**{v.value: tally[v.value] for v in Verdict})


async def dry_run(
    tx: Tx, org_id: UUID, content: bytes, *, file_name: str | None = None, keep: bool = True
) -> ImportReport:
    """What applying the file would do, row by row, writing nothing but (with `keep`) the
    dry run itself, for the apply to follow."""
    rules = await org_rules(tx, org_id)
    checked = read(content, rules.vocabulary, rules.today, rules.recheck_months)
    by_id, by_email = await known(tx, org_id, checked.rows)
    decisions = plan(checked.rows, by_id, by_email, duplicates(checked.rows))
    expected = {
        str(r.line): fingerprint(by_id.get(r.external_id or ""), by_email.get(r.email))
        for r in checked.rows
    }
    return await recorded_dry_run(
        tx,
        org_id,
        Filed("volunteers", checked.sha256, checked.total, file_name),
        results_of(checked.refused, decisions),
        content=content if keep else None,
        expected=expected,
    )


@dataclass(frozen=True)
class Filed:
    """An import's file as its record and audit name it."""

    kind: str  # volunteers | clients
    sha256: str
    rows: int
    name: str | None = None

    @property
    def subject(self) -> str:  # volunteer_import | client_import
        return f"{self.kind.removesuffix('s')}_import"


async def recorded_dry_run(
    tx: Tx,
    org_id: UUID,
    filed: Filed,
    results: list[RowResult],
    *,
    content: bytes | None,
    expected: dict[str, str],
) -> ImportReport:
    """A dry run's report, kept with its file (`content`; None: not kept) and audited."""
    counts = counts_of(results)
    import_id = None
    if content is not None:
        import_id = await tx.conn.scalar(
            insert(volunteer_imports)
            .values(
                org_id=org_id,
                kind=filed.kind,
                file_sha256=filed.sha256,
                file_name=filed.name,
                content=content,
                rows=filed.rows,
                verdicts=as_json(counts),
                expected=expected,
                created_by=tx.principal.user_id,
            )
            .returning(volunteer_imports.c.id)
        )
    await audit.record(
        tx,
        f"{filed.subject}.dry_run",
        filed.subject,
        import_id or filed.sha256,
        org_id=org_id,
        details={"file_sha256": filed.sha256, "rows": filed.rows, **as_json(counts)},
    )
    return _report(import_id, org_id, filed, "dry_run", results)


def _report(
    import_id: UUID | None, org_id: UUID, filed: Filed, status: str, results: list[RowResult]
) -> ImportReport:
    return ImportReport(
        id=import_id,
        org_id=org_id,
        file_sha256=filed.sha256,
        status=status,
        rows=filed.rows,
        counts=counts_of(results),
        results=results,
    )


async def recorded_apply(
    engine: AsyncEngine,
    identity: TokenIdentity,
    org_id: UUID,
    filed: Filed,
    results: list[RowResult],
    *,
    import_id: UUID | None,
    via: str,
) -> ImportReport:
    """An apply's report: the kept dry run marked applied (its file dropped), and audited."""
    counts = counts_of(results)
    async with tenant_transaction(engine, identity) as tx:
        if import_id is not None:
            await finish(tx, import_id, "applied", counts)
        await audit.record(
            tx,
            f"{filed.subject}.applied",
            filed.subject,
            import_id or filed.sha256,
            org_id=org_id,
            details={"file_sha256": filed.sha256, "rows": filed.rows, "via": via} | as_json(counts),
        )
    return _report(import_id, org_id, filed, "applied", results)


def as_json(counts: Counts) -> dict[str, int]:
    return {v.value: getattr(counts, v.value) for v in Verdict}


async def claim(
    tx: Tx, org_id: UUID, import_id: UUID, kind: str = "volunteers"
) -> tuple[bytes, dict[int, str]]:
    """A kept dry run, marked as applying (once: a second apply is a conflict)."""
    row = (
        await tx.conn.execute(
            select(
                volunteer_imports.c.status,
                volunteer_imports.c.content,
                volunteer_imports.c.expected,
            )
            .where(*_this(import_id, org_id, kind))
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Import not found")
    if row.status != "dry_run" or row.content is None:
        raise Conflict(f"this import is {row.status}: upload the file again for a new dry run")
    await tx.conn.execute(
        update(volunteer_imports)
        .where(volunteer_imports.c.id == import_id)
        .values(status="applying", applied_by=tx.principal.user_id)
    )
    return bytes(row.content), {int(k): v for k, v in row.expected.items()}


async def apply(
    engine: AsyncEngine,
    identity: TokenIdentity,
    org_id: UUID,
    *,
    import_id: UUID | None = None,
    content: bytes | None = None,
    progress: Progress | None = None,
    via: str = "api",
) -> ImportReport:
    """Applies a kept dry run (`import_id`: a row whose volunteer changed since is refused,
    not overwritten) or a file straight away (`content`, the command line's way). Each
    batch decides again on what it has locked, so re-running a file changes nothing."""
    async with tenant_transaction(engine, identity) as tx:
        rules = await org_rules(tx, org_id)
        expected: dict[int, str] | None = None
        if import_id is not None:
            content, expected = await claim(tx, org_id, import_id)
    assert content is not None
    checked = read(content, rules.vocabulary, rules.today, rules.recheck_months)
    try:
        decisions = await _apply_batches(
            engine, identity, rules, checked, expected, import_id, progress
        )
    except BaseException:
        if import_id is not None:
            async with tenant_transaction(engine, identity) as tx:
                await finish(tx, import_id, "failed", None)
        raise
    filed = Filed("volunteers", checked.sha256, checked.total)
    results = results_of(checked.refused, decisions)
    return await recorded_apply(
        engine, identity, org_id, filed, results, import_id=import_id, via=via
    )


async def _apply_batches(
    engine: AsyncEngine,
    identity: TokenIdentity,
    rules: OrgRules,
    checked: Checked[Row],
    expected: dict[int, str] | None,
    import_id: UUID | None,
    progress: Progress | None,
) -> list[Decision]:
    repeated = duplicates(checked.rows)

    async def write(tx: Tx, batch: Sequence[Row]) -> list[Decision]:
        by_id, by_email = await known(tx, rules.org_id, batch, lock=True)
        return await apply_batch(tx, rules, batch, plan(batch, by_id, by_email, repeated, expected))

    return await run_batches(
        engine, identity, rules.org_id, checked.rows, len(checked.refused), import_id,
        progress, write, analyze=True,
    )  # fmt: skip


WriteBatch = Callable[[Tx, Sequence[Any]], Awaitable[list[Any]]]


async def run_batches(
    engine: AsyncEngine,
    identity: TokenIdentity,
    org_id: UUID,
    rows: Sequence[Any],
    refused: int,
    import_id: UUID | None,
    progress: Progress | None,
    write: WriteBatch,
    *,
    analyze: bool = False,
) -> list[Any]:
    """The rows in batches of BATCH_ROWS, each its own transaction holding the organisation's
    import lock; `write` locks what its batch names, decides again and writes. A kept dry
    run counts its `applied_rows` as each batch commits (the refused rows with the first)."""
    total = len(rows) + refused
    if progress:
        progress(refused, total)
    done: list[Any] = []
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        async with tenant_transaction(engine, identity) as tx:
            # One import of an organisation writes at a time: two files naming one new
            # person must not both create them.
            await tx.conn.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended(f"import:{org_id}", 0)))
            )
            skipped = refused if start == 0 else 0  # refused before any batch
            decisions = await write(tx, batch)
            if import_id is not None:
                await tx.conn.execute(
                    update(volunteer_imports)
                    .where(volunteer_imports.c.id == import_id)
                    .values(applied_rows=volunteer_imports.c.applied_rows + len(batch) + skipped)
                )
        done += decisions
        if analyze and (start + BATCH_ROWS) % ANALYZE_EVERY_ROWS == 0:
            async with tenant_transaction(engine, identity) as tx:
                await refresh_statistics(tx)
        if progress:
            progress(len(batch), total)
    return done


async def finish(tx: Tx, import_id: UUID, status: str, counts: Counts | None) -> None:
    """The file is dropped once applied (or failed): it is personal data no longer needed."""
    await tx.conn.execute(
        update(volunteer_imports)
        .where(volunteer_imports.c.id == import_id)
        .values(
            status=status,
            applied_rows=volunteer_imports.c.rows if counts else volunteer_imports.c.applied_rows,
            content=None,
            expected={},
            applied=as_json(counts) if counts else None,
            applied_at=tx.now,
        )
    )


def status_of(row: Any) -> ImportStatus:
    return ImportStatus(
        id=row.id,
        org_id=row.org_id,
        file_name=row.file_name,
        file_sha256=row.file_sha256,
        status=row.status,
        rows=row.rows,
        dry_run=Counts(**row.verdicts),
        applied_rows=row.applied_rows,
        applied=Counts(**row.applied) if row.applied else None,
        created_at=row.created_at,
        applied_at=row.applied_at,
    )


async def require_manager(tx: Tx, org_id: UUID) -> None:
    await org_rules(tx, org_id)


async def status(tx: Tx, org_id: UUID, import_id: UUID) -> ImportStatus:
    await org_rules(tx, org_id)
    return await status_of_kind(tx, org_id, import_id, "volunteers")


def _this(import_id: UUID, org_id: UUID, kind: str) -> tuple[Any, ...]:
    c = volunteer_imports.c
    return (c.id == import_id, c.org_id == org_id, c.kind == kind)


async def status_of_kind(tx: Tx, org_id: UUID, import_id: UUID, kind: str) -> ImportStatus:
    """An import of that kind, as it stands (the caller has checked who may see it)."""
    row = (
        await tx.conn.execute(select(volunteer_imports).where(*_this(import_id, org_id, kind)))
    ).one_or_none()
    if row is None:
        raise NotFound("Import not found")
    return status_of(row)


async def kept_file(tx: Tx, org_id: UUID, import_id: UUID) -> bytes:
    """A kept dry run's file, to say again what applying it would do (the console's
    verdicts.csv). Applied (or failed), its file is gone: a conflict."""
    await org_rules(tx, org_id)
    return await kept_file_of_kind(tx, org_id, import_id, "volunteers")


async def kept_file_of_kind(tx: Tx, org_id: UUID, import_id: UUID, kind: str) -> bytes:
    c = volunteer_imports.c
    row = (
        await tx.conn.execute(select(c.status, c.content).where(*_this(import_id, org_id, kind)))
    ).one_or_none()
    if row is None:
        raise NotFound("Import not found")
    if row.status != "dry_run" or row.content is None:
        raise Conflict(f"this import is {row.status}: upload the file again for a new dry run")
    return bytes(row.content)
