"""`optout status` and `optout forget`: the operator's view and the right to erasure."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import click

from worker.cli import _open, _print_json, cli, config_option, local
from worker.retention import Retention
from worker.store import outbox
from worker.store.stats import queue_state


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@config_option
def status(as_json: bool, config_file: str | None) -> None:
    """Queues, backlog and the running daemon's jobs (from its /healthz)."""
    app = _open(config_file)
    state = queue_state(app.store, app.service.clock.now())
    http = app.settings.http
    host = "127.0.0.1" if http.host in ("0.0.0.0", "::") else http.host
    daemon = _health(f"http://{host}:{http.port}/healthz")
    body: dict[str, Any] = {
        "database": app.store.dialect,
        "review_backlog": state.review_backlog,
        "failed_items": state.failed_items,
        "open_requests": state.open_requests,
        "overdue_requests": state.overdue_requests,
        "outbox_pending": state.outbox_pending,
        "oldest_open_request_age_seconds": round(state.oldest_open_age_seconds),
        "active_suppressions": state.suppressions_by_reason,
        "sources": [s.name + f" ({s.kind})" for s in app.settings.sources],
        "daemon": daemon,
    }
    if as_json:
        _print_json(body)
        return
    for key, value in body.items():
        if key == "daemon":
            continue
        click.echo(f"{key}: {value}")
    if daemon.get("status") == "not running":
        click.echo(f"daemon: not answering on {http.host}:{http.port}")
        return
    click.echo(f"daemon: {daemon.get('status')} (version {daemon.get('version')})")
    for name, job in (daemon.get("jobs") or {}).items():
        click.echo(
            f"  job {name}: every {job['interval_seconds']} s, last success "
            f"{job['last_success'] or 'never'}, failures {job['failures']}"
            + (f", last error {job['last_error']}" if job.get("last_error") else "")
        )


def _health(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as exc:
        return dict(json.loads(exc.read() or b"{}")) | {"status": f"http {exc.code}"}
    except (OSError, ValueError):
        return {"status": "not running"}


@cli.command()
@click.argument("address")
@click.option("--actor", required=True, help="Who carries out the deletion.")
@click.option("--reason", required=True, help="Why (e.g. the privacy request's reference).")
@config_option
def forget(address: str, actor: str, reason: str, config_file: str | None) -> None:
    """Delete a person's data; their suppressions stay, kept under the address's hash."""
    app = _open(config_file)
    counts = Retention(app.service, app.settings.retention.raw_days).forget(
        address, actor=actor, reason=reason
    )
    done = ", ".join(f"{k} {v}" for k, v in counts.items())
    click.echo(f"forgotten ({done}); opt-outs are still honoured by hash")


@cli.command(name="outbox")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]))
@click.option("--json", "as_json", is_flag=True)
@config_option
def outbox_cmd(status: str | None, as_json: bool, config_file: str | None) -> None:
    """Queued confirmations and alerts: what waits, what went, what failed and why."""
    app = _open(config_file)
    with app.store.transaction() as tx:
        rows = outbox.list_outbox(tx, status=status)
    recs = [
        {
            "id": r.id,
            "kind": r.kind,
            "request_id": r.request_id,
            "to": r.to_masked,
            "status": r.status,
            "attempts": r.attempts,
            "next_attempt_at": local(r.next_attempt_at),
            "last_error": r.last_error,
        }
        for r in rows
    ]
    if as_json:
        _print_json(recs)
        return
    for rec in recs:
        click.echo("\t".join(str(v) for v in rec.values()))
