"""The `optout` command. User mistakes: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

import gc

# The imports below (SQLAlchemy, pydantic, the store's models) and a command's own module
# allocate some 400,000 objects that live as long as the process, and the cyclic
# collector walked them all again at every collection of the oldest generation it ran
# meanwhile, and once more at the first one after: 70-90 ms of a 0.6-0.7 s start. So the
# collector is paused over the imports and what they built is frozen after (gc.freeze:
# never walked again); the collector is then left as it was found.
_GC_WAS_ON = gc.isenabled()
gc.disable()
try:
    import asyncio
    import importlib
    import json
    import sys
    from collections.abc import Callable, Iterator
    from contextlib import contextmanager
    from datetime import datetime, tzinfo
    from typing import TYPE_CHECKING, Any, TypeVar

    import click

    from worker import logs
    from worker.config import Settings, load_settings
    from worker.core.model import AuditView, Channel, RequestView
    from worker.core.times import iso, parse_time
    from worker.errors import OptoutError
finally:
    gc.freeze()
    if _GC_WAS_ON:
        gc.enable()

if TYPE_CHECKING:
    # rich on first use (see _table): most commands print no table. The database side
    # (SQLAlchemy, the store, the service: 0.25 s) on first use too (see open_settings):
    # `optout poll` starts its classifier process before importing it.
    from rich.console import Console
    from rich.table import Table

    from worker.bootstrap import App
    from worker.service import Report

F = TypeVar("F", bound=Callable[..., Any])
EXIT_SUPPRESSED = 3


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        envvar="OPTOUT_CONFIG",
        help="Configuration file (default: config/optout.toml, else the example).",
    )(func)


def _settings(config_file: str | None, *, daemon: bool = False) -> Settings:
    settings = load_settings(config_file)
    if daemon:
        logs.configure(settings.logging.level, settings.logging.format)
    else:
        logs.configure("warning", settings.logging.format)
    return settings


_TZ: tzinfo | None = None  # display timezone: the configured one, so deadlines read locally


def _open(config_file: str | None) -> App:
    return open_settings(_settings(config_file))


def open_settings(settings: Settings) -> App:
    """The application on ``settings``, with the database side imported on the way
    (under :func:`built_for_good`, as the imports at the top of this module are)."""
    global _TZ
    with built_for_good():
        from worker.bootstrap import open_app

        app = open_app(settings)
    _TZ = app.service.policy.calendar.tz
    return app


def local(at: datetime | None) -> str | None:
    """A time as the operator reads it: ISO 8601 in the configured timezone."""
    return iso(at, _TZ)


def _tz(app: App) -> Any:
    return app.service.policy.calendar.tz


def _err(message: str) -> None:
    click.echo(f"optout: {message}", err=True)


#: commands registered by the other cli_* modules, imported when one of them is asked
#: for: `optout check` does not load the classifier, the IMAP source or the importer.
#: tests/cli/test_lazy_commands.py holds this table to what the modules register.
LAZY_COMMANDS = {
    "import": "worker.cli_data",
    "export": "worker.cli_data",
    "classify": "worker.cli_intake",
    "review": "worker.cli_intake",
    "privacy": "worker.cli_intake",
    "poll": "worker.cli_intake",
    "headers": "worker.cli_links",
    "keys": "worker.cli_links",
    "status": "worker.cli_ops",
    "forget": "worker.cli_ops",
    "outbox": "worker.cli_ops",
}


@contextmanager
def built_for_good() -> Iterator[None]:
    """For a block that builds what the process keeps to its end (imports, a command's
    start-up): no cyclic collection inside it, and what it built is frozen after (see
    the imports at the top of this module). Not for a block that leaves garbage: frozen
    cycles are never freed."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_on:
            gc.enable()


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            with built_for_good():  # see the imports at the top
                importlib.import_module(LAZY_COMMANDS[cmd_name])  # registers its commands
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="optout")
def cli() -> None:
    """optout: record, check and prove email opt-outs.

    Exit status: 0 success (check: allowed), 1 failure, 2 a usage mistake,
    3 check: suppressed.
    """


@cli.command()
@config_option
def run(config_file: str | None) -> None:
    """Run the daemon: scheduler and HTTP server in one process (SIGTERM exits 0)."""
    from worker.daemon import serve

    app = open_settings(_settings(config_file, daemon=True))
    try:
        asyncio.run(serve(app))
    finally:
        app.close()


@cli.command()
@config_option
def migrate(config_file: str | None) -> None:
    """Create or upgrade the database schema."""
    from worker.bootstrap import migrate_database

    migrate_database(_settings(config_file))
    click.echo("schema is up to date")


@cli.command()
@click.argument("address")
@click.option("--scope", default="all", show_default=True, help="'all' promotional, or a category")
@click.option(
    "--channel",
    type=click.Choice(["phone", "manual", "import"]),
    default="manual",
    show_default=True,
)
@click.option("--actor", help="Who took the request (e.g. the support desk).")
@click.option("--note", help="Free text kept with the request.")
@click.option("--received-at", help="When it was received (ISO 8601); default now.")
@click.option("--ticket", help="Ticket or reference; the same ticket twice is one request.")
@click.option("--json", "as_json", is_flag=True, help="Answer as JSON.")
@config_option
def suppress(
    address: str,
    scope: str,
    channel: str,
    actor: str | None,
    note: str | None,
    received_at: str | None,
    ticket: str | None,
    as_json: bool,
    config_file: str | None,
) -> None:
    """Record an opt-out (for example one taken by phone) and apply it at once."""
    app = _open(config_file)
    when = parse_time(received_at, _tz(app)) if received_at else None
    req = app.service.prepare(
        address,
        scope=scope,
        channel=Channel(channel),
        received_at=when,
        evidence_key=f"{channel}:{ticket}" if ticket else None,
        actor=actor,
        note=note,
        evidence={"ticket": ticket} if ticket else {},
    )
    if req.evidence.get("received_at_in_future"):
        _err("warning: the received time is in the future; the deadline counts from it")
    outcome = app.service.record(req)
    r = outcome.request
    if as_json:
        _print_json({**_request_dict(r), "created": outcome.created})
        return
    what = "all promotional email" if r.scope == "all" else f"category {r.scope}"
    verb = "suppressed" if outcome.created else "already recorded:"
    click.echo(f"{verb} {r.address} for {what} (request {r.id}, deadline {iso(r.deadline, _TZ)})")


@cli.command()
@click.argument("address")
@click.option("--category", "-c", required=True, help="The category you want to send.")
@click.option("--json", "as_json", is_flag=True)
@config_option
def check(address: str, category: str, as_json: bool, config_file: str | None) -> None:
    """May CATEGORY go to ADDRESS? Exit 0 allowed, 3 suppressed."""
    app = _open(config_file)
    d = app.service.check(address, category)
    if as_json:
        _print_json(
            {
                "address": address.strip(),
                "category": category,
                "suppressed": not d.allowed,
                "reason": d.reason.value if d.reason else None,
                "since": iso(d.since, _TZ),
                "scope": d.scope,
                "request_id": d.request_id,
            }
        )
    elif d.allowed:
        click.echo(f"allowed: {category} may go to {address.strip()}")
    else:
        reason = d.reason.value if d.reason else "suppressed"
        click.echo(
            f"suppressed: {address.strip()} for {category} ({reason}, scope {d.scope}, "
            f"since {iso(d.since, _TZ)}, request {d.request_id})"
        )
    if not d.allowed:
        sys.exit(EXIT_SUPPRESSED)


@cli.command()
@click.argument("address")
@click.option("--scope", required=True, help="'all', a category, or 'every' (hard bounces).")
@click.option("--actor", required=True, help="Who re-subscribes the person.")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@config_option
def lift(address: str, scope: str, actor: str, reason: str, config_file: str | None) -> None:
    """Re-subscribe ADDRESS for SCOPE; audited, history kept."""
    app = _open(config_file)
    lifted = app.service.lift(address, scope, actor=actor, reason=reason)
    click.echo(f"lifted {', '.join(s.scope for s in lifted)} for {address.strip()}")


@cli.command()
@click.option(
    "--status",
    type=click.Choice(["pending", "needs-review", "overdue", "applied", "dismissed"]),
    help="Only requests in this state (overdue: open and past the deadline).",
)
@click.option("--address", help="Only this address's requests.")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@config_option
def requests(
    status: str | None, address: str | None, limit: int, as_json: bool, config_file: str | None
) -> None:
    """Requests with their received time and deadline."""
    app = _open(config_file)
    rows = app.service.requests(status, address=address, limit=limit)
    if as_json:
        _print_json([_request_dict(r) for r in rows])
        return
    table = _table("id", "status", "channel", "address", "scope", "received", "deadline")
    for r in rows:
        table.add_row(
            str(r.id),
            r.status.value,
            r.channel.value,
            r.address or "(deleted)",
            r.scope,
            iso(r.received_at, _TZ),
            iso(r.deadline, _TZ),
        )
    _console().print(table)


@cli.command(name="log")
@click.option("--address", help="Only events about this address.")
@click.option("--since", help="From this time (ISO 8601) or look-back (24h, 7d).")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@config_option
def log_(
    address: str | None, since: str | None, limit: int, as_json: bool, config_file: str | None
) -> None:
    """The audit trail: who did what, when, through which channel, with what evidence."""
    app = _open(config_file)
    when = parse_time(since, _tz(app), now=app.service.clock.now()) if since else None
    events = app.service.audit_log(address=address, since=when, limit=limit)
    if as_json:
        _print_json([_audit_dict(e) for e in events])
        return
    table = _table("at", "event", "request", "address", "channel", "actor", "detail")
    for e in events:
        table.add_row(
            iso(e.at, _TZ),
            e.kind.value,
            str(e.request_id or ""),
            e.address_masked or "",
            e.channel or "",
            e.actor or "",
            json.dumps(e.detail, sort_keys=True),
        )
    _console().print(table)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@config_option
def report(as_json: bool, config_file: str | None) -> None:
    """SLA report: counts, time to suppression, anything near or past its deadline."""
    app = _open(config_file)
    rep = app.service.report()
    if as_json:
        _print_json(report_dict(rep))
        return
    _print_report(rep)


def report_dict(rep: Report) -> dict[str, Any]:
    return {
        "generated_at": iso(rep.generated_at, _TZ),
        "requests_by_status": rep.requests_by_status,
        "requests_by_channel": rep.requests_by_channel,
        "active_suppressions_by_reason": rep.active_suppressions_by_reason,
        "time_to_suppression": rep.time_to_suppression,
        "near_deadline": [_request_dict(r) for r in rep.near_deadline],
        "overdue": [_request_dict(r) for r in rep.overdue],
    }


def _print_report(rep: Report) -> None:
    console = _console()
    tts = rep.time_to_suppression
    console.print(f"[bold]optout SLA report[/bold] at {iso(rep.generated_at, _TZ)}")
    console.print("requests: " + _pairs(rep.requests_by_status))
    console.print("channels: " + _pairs(rep.requests_by_channel))
    console.print("active suppressions: " + _pairs(rep.active_suppressions_by_reason))
    console.print(
        "time to suppression: "
        + ", ".join(f"{k.removesuffix('_seconds')} {_secs(v)}" for k, v in tts.items())
    )
    for title, rows in (("near deadline", rep.near_deadline), ("OVERDUE", rep.overdue)):
        console.print(f"{title}: {len(rows)}")
        for r in rows:
            console.print(f"  request {r.id} {r.status.value} deadline {iso(r.deadline, _TZ)}")


def _pairs(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def _request_dict(r: RequestView) -> dict[str, Any]:
    return {
        "id": r.id,
        "status": r.status.value,
        "channel": r.channel.value,
        "address": r.address,
        "scope": r.scope,
        "received_at": iso(r.received_at, _TZ),
        "deadline": iso(r.deadline, _TZ),
        "applied_at": iso(r.applied_at, _TZ),
        "actor": r.actor,
        "note": r.note,
        "evidence": r.evidence,
    }


def _audit_dict(e: AuditView) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": iso(e.at, _TZ),
        "event": e.kind.value,
        "request_id": e.request_id,
        "address": e.address_masked,
        "address_sha256": e.address_hash,
        "channel": e.channel,
        "actor": e.actor,
        "detail": e.detail,
    }


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 200)


def _table(*columns: str) -> Table:
    """A rich table, imported on first use: rich (with the pygments that structlog would
    pull in through it, see worker.logs) is a fifth of the imports of a command that
    prints none, such as `optout check` in a script's loop or `optout poll`."""
    from rich.table import Table

    return Table(*columns)


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="optout", standalone_mode=False)
    except click.exceptions.Abort:
        _err("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OptoutError as exc:
        _err(f"error: {exc.message}")
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    # `python -m worker.cli` runs this file as __main__, a second copy of the module;
    # the commands are registered on worker.cli's group, so run that one
    from worker.cli import main as _main

    _main()
