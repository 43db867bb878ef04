"""`codeliver import volunteers|clients FILE --org SLUG --as SUBJECT [--dry-run]`: the same
use cases as the API, as a named coordinator (volunteers) or caseworker (clients) of the
organisation (row-level security applies as to their requests; the audit log names them),
with a progress bar."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.imports.client_columns import COLUMNS as CLIENT_COLUMNS
from app.imports.columns import COLUMNS, template
from app.imports.report import as_csv
from app.imports.schemas import ImportReport
from app.settings import Settings, SettingsError

SHOWN_REFUSALS = 50


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.template:
        sys.stdout.write(template(CLIENT_COLUMNS if args.kind == "clients" else COLUMNS))
        return 0
    if not args.file or not args.org or not args.as_subject:
        raise SettingsError(f"import {args.kind} needs FILE, --org SLUG and --as SUBJECT")
    content = Path(args.file).read_bytes()
    issuer = args.issuer or (
        f"https://securetoken.google.com/{settings.firebase_project_id}"
        if settings.firebase_project_id
        else DEV_ISSUER
    )
    identity = TokenIdentity(issuer=issuer, subject=args.as_subject)
    run_kind = _clients if args.kind == "clients" else _run
    report = asyncio.run(run_kind(settings, identity, args.org, content, dry_run=args.dry_run))
    _print(report, sys.stderr)
    if args.report:
        _write_report(report, Path(args.report), args.kind)
    return 0


async def _run(
    settings: Settings, identity: TokenIdentity, slug: str, content: bytes, *, dry_run: bool
) -> ImportReport:
    from app.db.engine import create_engine, database_urls
    from app.db.tenancy import tenant_transaction
    from app.imports import service
    from app.imports.facts import org_by_slug

    engine = create_engine(database_urls(settings)[0], settings)  # the app's login: RLS holds
    try:
        async with tenant_transaction(engine, identity) as tx:
            org_id = await org_by_slug(tx, slug)
            if dry_run:
                return await service.dry_run(tx, org_id, content, keep=False)
        with _bar("importing volunteers") as advance:
            return await service.apply(
                engine, identity, org_id, content=content, progress=advance, via="command line"
            )
    finally:
        await engine.dispose()


async def _clients(
    settings: Settings, identity: TokenIdentity, slug: str, content: bytes, *, dry_run: bool
) -> ImportReport:
    from app.db.engine import create_engine, database_urls
    from app.db.tenancy import tenant_transaction
    from app.geocoder import geocoder_for
    from app.imports import client_service
    from app.imports.facts import org_by_slug

    engine, geocoder = create_engine(database_urls(settings)[0], settings), geocoder_for(settings)
    try:
        async with tenant_transaction(engine, identity) as tx:
            org_id = await org_by_slug(tx, slug)
            if dry_run:
                return await client_service.dry_run(
                    tx, org_id, content, geocoder=geocoder, keep=False
                )
        with _bar("importing clients") as advance:
            return await client_service.apply(
                engine, identity, org_id, geocoder=geocoder, content=content,
                progress=advance, via="command line",
            )  # fmt: skip
    finally:
        await engine.dispose()


@contextmanager
def _bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on a terminal (nothing otherwise): yields `advance(done, total)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, advance=done, total=total)

        yield advance


def _print(report: ImportReport, out: TextIO) -> None:
    c = report.counts
    what = "dry run (nothing written)" if report.status == "dry_run" else "applied"
    print(
        f"{what}: {report.rows} rows: {c.created} created, {c.updated} updated, "
        f"{c.unchanged} unchanged, {c.refused} refused (file sha256 {report.file_sha256[:12]})",
        file=out,
    )
    refused = [r for r in report.results if r.errors]
    for r in refused[:SHOWN_REFUSALS]:
        reasons = "; ".join(f"{e.field}: {e.message}" for e in r.errors)
        print(f"  line {r.line}: {reasons}", file=out)
    if len(refused) > SHOWN_REFUSALS:
        print(f"  ... and {len(refused) - SHOWN_REFUSALS} more (--report FILE)", file=out)


def _write_report(report: ImportReport, path: Path, kind: str) -> None:
    path.write_text(as_csv(report, kind), newline="")


def _kind(
    kinds: argparse._SubParsersAction[argparse.ArgumentParser], name: str, about: str, who: str
) -> None:
    kind = kinds.add_parser(name, help=f"{about} (docs/imports.md)")
    kind.add_argument("file", nargs="?", help="a CSV file (UTF-8) with the documented columns")
    kind.add_argument("--org", help="the organisation's slug")
    kind.add_argument("--as", dest="as_subject", help=f"the {who} importing (their subject)")
    kind.add_argument("--issuer", help="their identity provider (default Firebase's, or dev)")
    kind.add_argument("--dry-run", action="store_true", help="say per row what would happen")
    kind.add_argument("--report", help="write every row's verdict to this CSV file")
    kind.add_argument("--template", action="store_true", help="print the template CSV and exit")
    kind.set_defaults(func=run)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = sub.add_parser("import", help="bulk import (volunteers, clients) from a CSV file")
    kinds = imp.add_subparsers(dest="kind", required=True)
    _kind(kinds, "volunteers", "volunteers, with their DBS records", "coordinator")
    _kind(kinds, "clients", "clients, for caseworkers", "caseworker")
