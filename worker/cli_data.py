"""`optout import` and `optout export`: the suppression list in and out, in bulk."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import click

from worker.bootstrap import App
from worker.cli import _err, _open, _tz, cli, config_option
from worker.core.imports import ImportRow, RowError, check_header, parse_row
from worker.core.model import SuppressionView
from worker.core.times import parse_time
from worker.errors import UserError
from worker.exports import export_chunks
from worker.importer import import_rows


@cli.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--actor", help="Who imports (kept with each request).")
@config_option
def import_(file: str, actor: str | None, config_file: str | None) -> None:
    """Import opt-outs from a CSV with a header row (address[,scope][,received_at][,note]).

    Bad rows are reported by line number and skipped; the rest is imported. Importing the
    same file again changes nothing. Exit 1 when any row was skipped.
    """
    from worker.progress import progress_bar

    app = _open(config_file)
    bad = 0
    totals = [0, 0, 0]

    def on_error(err: RowError) -> None:
        nonlocal bad
        bad += 1
        _err(f"{file}: line {err.line}: {err.message}")

    with _open_text(file) as fh:
        total = _count_lines(file) - 1 if file != "-" else None
        rows = _csv_rows(fh, app, on_error)
        with progress_bar("importing", total) as advance:
            for res in import_rows(app.service, rows, source=Path(file).name, actor=actor):
                totals[0] += res.imported
                totals[1] += res.duplicates
                totals[2] += res.suppressions_created
                advance(res.imported + res.duplicates)
    click.echo(
        f"imported {totals[0]} requests ({totals[2]} new suppressions), "
        f"{totals[1]} already present, {bad} bad rows skipped"
    )
    if bad:
        sys.exit(1)


def _csv_rows(fh: TextIO, app: App, on_error: Callable[[RowError], None]) -> Iterator[ImportRow]:
    reader = csv.DictReader(fh)
    header = list(reader.fieldnames or [])
    check_header(header)
    cats, tz = app.service.categories, _tz(app)
    try:
        for row in reader:
            parsed = parse_row(reader.line_num, row, header, cats, tz)
            if isinstance(parsed, RowError):
                on_error(parsed)
            else:
                yield parsed
    except csv.Error as exc:
        raise UserError(
            f"line {reader.line_num}: broken CSV ({exc}); nothing after it read"
        ) from None


@cli.command()
@click.option("--category", "-c", help="Only what stops this category.")
@click.option("--since", help="Incremental: changes since this time (includes lifts).")
@click.option("--hashed", is_flag=True, help="SHA-256 of the normalised address instead.")
@click.option("--format", "fmt", type=click.Choice(["csv", "ndjson"]), default="csv")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
@config_option
def export(
    category: str | None,
    since: str | None,
    hashed: bool,
    fmt: str,
    output: str | None,
    config_file: str | None,
) -> None:
    """Export the suppression list (full, or incremental with --since)."""
    from worker.progress import progress_bar

    app = _open(config_file)
    if category:
        app.service.categories.get(category)
    when = parse_time(since, _tz(app), now=app.service.clock.now()) if since else None
    rows = app.service.export(category=category, since=when)
    out = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        with progress_bar("exporting", None, enabled=output is not None) as advance:
            n = _write_export(out, rows, fmt=fmt, hashed=hashed, incremental=when is not None)
            advance(n)
    finally:
        if output:
            out.close()


def _write_export(
    out: TextIO, rows: Iterator[SuppressionView], *, fmt: str, hashed: bool, incremental: bool
) -> int:
    written = 0
    for text, n in export_chunks(rows, fmt=fmt, hashed=hashed, incremental=incremental):
        out.write(text)
        written += n
    return written


def _open_text(file: str) -> TextIO:
    if file == "-":
        return sys.stdin
    return open(file, newline="", encoding="utf-8-sig", errors="replace")


def _count_lines(file: str) -> int:
    with open(file, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
