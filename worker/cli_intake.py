"""`optout classify`, `optout review …`, `optout privacy`: the inbox side of the command."""

from __future__ import annotations

import asyncio
import json
import mailbox
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from worker.classifier import ClassifierPool, start_pool
from worker.cli import (
    _console,
    _open,
    _print_json,
    _settings,
    built_for_good,
    cli,
    config_option,
    local,
    open_settings,
)
from worker.config import ImapSource, Settings, mailbox_entries
from worker.core.verdict import Classification
from worker.errors import OptoutError, UserError

if TYPE_CHECKING:  # the database side and the sources on first use (see poll)
    from worker.bootstrap import App
    from worker.core.verdict import Prepared
    from worker.sources.base import RawItem
    from worker.sources.imap import ImapMailSource
    from worker.store import inbound
    from worker.store.state import DbCheckpoint

#: review show prints this much of the message text
_EXCERPT = 2000


def iter_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """Messages in an .eml file, a Maildir (cur/ and new/) or an mbox file."""
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise UserError(f"{path}: a directory must be a Maildir (with cur/ and new/)")
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):
            yield f"{path}/{key}", box.get_bytes(key)
        return
    if not path.exists():
        raise UserError(f"{path}: no such file")
    with path.open("rb") as fh:
        head = fh.read(5)
    if head == b"From ":
        mbox = mailbox.mbox(path, factory=None, create=False)
        for i, key in enumerate(mbox.keys()):
            yield f"{path}#{i + 1}", mbox.get_bytes(key)
        return
    yield str(path), path.read_bytes()


def classification_record(name: str, c: Classification) -> dict[str, Any]:
    return {
        "file": name,
        "class": c.message_class.value,
        "addresses": list(c.addresses),
        "sender": c.sender,
        "confidence": round(c.confidence, 3),
        "evidence": list(c.evidence),
        "bounce_kind": c.bounce_kind,
        "bounce_cause": c.bounce_cause,
        "feedback_type": c.feedback_type,
        "privacy_kinds": list(c.privacy_kinds),
        "machine": c.machine,
    }


@cli.command(name="classify")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def classify_cmd(files: tuple[Path, ...], as_json: bool) -> None:
    """Classify saved messages (.eml, Maildir, mbox) without writing anything."""
    from worker import regex_cache  # only here: `optout poll` imports this module

    classify = regex_cache.import_module("worker.core.classify").classify

    for path in files:
        for name, raw in iter_messages(path):
            rec = classification_record(name, classify(raw))
            if as_json:
                click.echo(json.dumps(rec, ensure_ascii=False))
            else:
                who = ", ".join(rec["addresses"]) or "-"
                why = "; ".join(rec["evidence"][:2])
                click.echo(f"{name}\t{rec['class']}\t{rec['confidence']}\t{who}\t{why}")


@cli.group()
def review() -> None:
    """The review queue: messages the worker could not decide alone."""


@review.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True)
@config_option
def review_list(as_json: bool, limit: int, config_file: str | None) -> None:
    """Items waiting for a decision, oldest first, with their deadlines."""
    app = _open(config_file)
    items = app.intake.review_items(limit)
    deadlines = _deadlines(app, items)
    if as_json:
        _print_json([_item_dict(i, deadlines.get(i.id)) for i in items])
        return
    from rich.table import Table

    table = Table("id", "received", "deadline", "class", "from", "subject", "why")
    for i in items:
        why = "; ".join(i.detail.get("review_reasons", [])) or (i.error or "")
        cells = (i.message_class or "?", i.sender_masked or "?", i.subject or "", why)
        table.add_row(str(i.id), local(i.received_at), deadlines.get(i.id) or "-", *cells)
    _console().print(table)


@review.command(name="show")
@click.argument("item_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@config_option
def review_show(item_id: int, as_json: bool, config_file: str | None) -> None:
    """One item: classification, evidence, held requests and the message text."""
    app = _open(config_file)
    view, raw = app.intake.item(item_id)
    rec = _item_dict(view, _deadlines(app, [view]).get(view.id))
    text = ""
    if raw is not None:
        from worker.core.message import all_text, header, parse_bytes

        msg = parse_bytes(raw)
        rec["headers"] = {k: header(msg, k) for k in ("From", "To", "Subject", "Date")}
        text = all_text(msg)[:_EXCERPT]
    if as_json:
        _print_json({**rec, "text": text})
        return
    for k, v in rec.items():
        click.echo(f"{k}: {v}")
    click.echo("\n" + (text or "(message body no longer stored)"))


@review.command(name="apply")
@click.argument("item_id", type=int)
@click.option("--actor", required=True)
@click.option("--reason", required=True)
@config_option
def review_apply(item_id: int, actor: str, reason: str, config_file: str | None) -> None:
    """Apply the opt-out the item holds (audited)."""
    app = _open(config_file)
    ids = app.intake.review_apply(item_id, actor=actor, reason=reason)
    click.echo(f"applied request(s) {', '.join(map(str, ids))}; item {item_id} resolved")


@review.command(name="dismiss")
@click.argument("item_id", type=int)
@click.option("--actor", required=True)
@click.option("--reason", required=True)
@config_option
def review_dismiss(item_id: int, actor: str, reason: str, config_file: str | None) -> None:
    """Close the item without an opt-out (audited)."""
    app = _open(config_file)
    app.intake.review_dismiss(item_id, actor=actor, reason=reason)
    click.echo(f"item {item_id} dismissed")


@review.command(name="retry")
@click.argument("item_id", type=int)
@config_option
def review_retry(item_id: int, config_file: str | None) -> None:
    """Process a failed (dead-letter) item again from its stored message."""
    app = _open(config_file)
    res = app.intake.retry(item_id)
    click.echo(f"item {item_id}: {res.message_class} → {res.disposition.value}")


@cli.group(name="privacy", invoke_without_command=True)
@click.option("--status", type=click.Choice(["open", "closed", "all"]), default="open")
@click.option("--json", "as_json", is_flag=True)
@config_option
@click.pass_context
def privacy(ctx: click.Context, status: str, as_json: bool, config_file: str | None) -> None:
    """Privacy requests (erasure, access, objection…) queued for ops, with deadlines.

    Without a subcommand, lists them; `optout privacy close ID` records that one was
    answered, which ends its deadline alerts.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = _open(config_file)
    from worker.store.inbound import list_privacy

    with app.store.transaction() as tx:
        rows = list_privacy(tx, None if status == "all" else status)
    recs = [
        {
            "id": p.id,
            "item_id": p.item_id,
            "address": p.address,
            "kinds": list(p.kinds),
            "received_at": local(p.received_at),
            "deadline": local(p.deadline),
            "status": p.status,
        }
        for p in rows
    ]
    if as_json:
        _print_json(recs)
        return
    for p in rows:
        click.echo(f"{p.id}\t{p.status}\t{local(p.deadline)}\t{','.join(p.kinds)}\t{p.address}")


@privacy.command(name="close")
@click.argument("privacy_id", type=int)
@click.option("--actor", required=True, help="Who answered the request.")
@click.option("--reason", required=True, help="What was done (kept in the audit trail).")
@config_option
def privacy_close(privacy_id: int, actor: str, reason: str, config_file: str | None) -> None:
    """Mark a privacy request answered (audited)."""
    app = _open(config_file)
    app.intake.close_privacy(privacy_id, actor=actor, reason=reason)
    click.echo(f"privacy request {privacy_id} closed")


def _deadlines(app: Any, items: list[inbound.ItemView]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    with app.store.transaction() as tx:
        for i in items:
            reqs = [tx.get_request(r) for r in i.request_ids]
            dates = [r.deadline for r in reqs if r is not None]
            out[i.id] = local(min(dates)) if dates else None
    return out


def _item_dict(i: inbound.ItemView, deadline: str | None) -> dict[str, Any]:
    return {
        "id": i.id,
        "status": i.status,
        "source": i.source,
        "received_at": local(i.received_at),
        "deadline": deadline,
        "class": i.message_class,
        "confidence": i.confidence,
        "from": i.sender_masked,
        "subject": i.subject,
        "message_id": i.message_id,
        "requests": list(i.request_ids),
        "review_reasons": i.detail.get("review_reasons", []),
        "evidence": i.detail.get("evidence", []),
        "bounce_kind": i.detail.get("bounce_kind"),
        "bounce_cause": i.detail.get("bounce_cause"),
        "error": i.error,
        "size": i.size,
    }


@cli.command()
@click.option("--source", "source_name", help="Only this source (by name).")
@click.option("--json", "as_json", is_flag=True)
@config_option
def poll(source_name: str | None, as_json: bool, config_file: str | None) -> None:
    """One intake pass over all (or one) sources, then exit."""
    settings = _settings(config_file)
    entries = mailbox_entries(settings, source_name)
    # The classifier process first, before any thread exists and before the database
    # side is imported: it imports the classifier on another core while this process
    # imports SQLAlchemy and the store (0.25 s), instead of after them.
    pool = start_pool(settings, source_name)
    try:
        app, results, failures = asyncio.run(_poll_all(settings, entries, pool))
    finally:
        pool.close()
    from worker.poller import linklog_readers

    for reader in linklog_readers(app, source_name):
        res = reader.poll()
        results.append(
            {
                "source": reader.name,
                "fetched": res.hits,
                "new": res.recorded,
                "classes": {"link_hit": res.hits},
                "outcomes": {"recorded": res.recorded, "duplicate": res.duplicates,
                             "ignored_get": res.ignored_get, "invalid": res.invalid_tokens},
                "seconds": None,
            }
        )  # fmt: skip
        for error in res.errors:
            failures[reader.name] = error
    if as_json:
        _print_json({"sources": results, "failures": failures})
    else:
        for r in results:
            click.echo(
                f"{r['source']}: {r['fetched']} messages ({r['new']} new) in {r['seconds']} s; "
                f"classes {r['classes']}; outcomes {r['outcomes']}"
            )
        for name, error in failures.items():
            click.echo(f"optout: {name}: {error}", err=True)
    if failures:
        sys.exit(1)


def _open_for_poll(settings: Settings) -> App:
    """The database side, imported and opened, with what the pass needs first, all in
    the head start's thread (see :func:`_poll_all`): the intake service, the poller's
    modules and the holiday calendar (``OptoutService.warm_up``). Left to the pass, the
    modules were imported on the event loop and the calendar built on the database
    thread, both after the database was open, while the head start's first batch,
    classified already, waited for its commit (traced: 0.08 s)."""
    app = open_settings(settings)
    with built_for_good():  # what they build lives as long as the process
        import worker.poller  # noqa: F401

        app.intake  # noqa: B018
        app.service.warm_up()
    return app


class _PendingCheckpoint:
    """The checkpoint of a head start's source until the database is open (see
    ``ImapMailSource.resume``): not ready, and never read or written meanwhile."""

    ready = False

    def get(self, source: str, key: str) -> str | None:
        raise RuntimeError("the checkpoint is read once the database is open")

    def set(self, source: str, key: str, value: str) -> None:
        raise RuntimeError("the checkpoint is written once the database is open")


_Batch = tuple[list["RawItem"], "asyncio.Future[list[Prepared]]"]
_Head = tuple["ImapMailSource", list[_Batch]]


async def _head_start(
    source: ImapMailSource, pool: ClassifierPool, opening: asyncio.Future[Any]
) -> _Head | OptoutError:
    """Connect, then fetch batches and hand each to the classifier process, until the
    database is open (``opening``) or ``HEAD_START`` batches wait: what a pass does
    first, short of the database. A failure that a pass would report (the server
    down, a wrong password) is returned, to be reported as the pass would."""
    from worker.sources.base import COMMIT_EVERY, HEAD_START

    batches: list[_Batch] = []
    try:
        await source.connect(resume=False)
        while not opening.done() and len(batches) < HEAD_START:
            items = await source.fetch(COMMIT_EVERY)
            if not items:
                break
            batches.append((items, asyncio.ensure_future(pool.prepare([i.raw for i in items]))))
    except OptoutError as exc:
        await _drop(source, batches)
        return exc
    except BaseException:
        await _drop(source, batches)
        raise
    return source, batches


async def _drop(source: ImapMailSource, batches: list[_Batch]) -> None:
    for _, prepared in batches:
        prepared.cancel()
    await source.close()


async def _poll_all(
    settings: Settings, entries: list[Any], pool: ClassifierPool
) -> tuple[App, list[dict[str, Any]], dict[str, str]]:
    """Every source, one after the other, with a head start for the first mailbox.

    The head start: while a thread imports and opens the database side (SQLAlchemy,
    the store, the service: about 0.2 s of one core), the event loop logs in to the
    first IMAP mailbox, fetches batches and hands them to the classifier process, which
    otherwise waited for all that. Nothing is committed or moved before the database is
    open and the mailbox's lease is held (rule 8 and the lease hold as in any pass); a
    head start that meets a held lease is dropped unseen.
    """
    from worker.sources.imap import ImapMailSource  # here, before the thread's imports

    opening = asyncio.ensure_future(asyncio.to_thread(_open_for_poll, settings))
    head: asyncio.Future[_Head | OptoutError] | None = None
    if entries and isinstance(entries[0], ImapSource) and pool.workers > 0:
        source = ImapMailSource(entries[0], _PendingCheckpoint())
        head = asyncio.ensure_future(_head_start(source, pool, opening))
    try:
        app = await opening
    except BaseException:
        if head is not None:
            started = await head
            if not isinstance(started, OptoutError):
                await _drop(*started)
        raise
    from worker.store.state import DbCheckpoint

    results: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    checkpoint = DbCheckpoint(app.store, app.service.clock)
    for n, entry in enumerate(entries):
        first = await head if head is not None and n == 0 else None
        if isinstance(first, OptoutError):
            failures[entry.name] = first.message
            continue
        await _poll_entry(app, entry, checkpoint, pool, results, failures, first)
    return app, results, failures


async def _poll_entry(
    app: App,
    entry: Any,
    checkpoint: DbCheckpoint,
    pool: ClassifierPool,
    results: list[dict[str, Any]],
    failures: dict[str, str],
    head: _Head | None = None,
) -> None:
    from worker.poller import Poller
    from worker.sources import open_source
    from worker.store.lease import Lease

    lease = Lease(app.store.engine, f"source:{entry.name}")
    if head is None:
        poller = Poller(open_source(entry, checkpoint), app.intake, lease=lease, pool=pool)
    else:
        source, batches = head
        source.checkpoint = checkpoint  # read at the next fetch, after the lease
        poller = Poller(source, app.intake, lease=lease, pool=pool, connected=True)
        poller.preload(batches)
    try:
        s = await poller.poll_leased()
    except OptoutError as exc:
        failures[entry.name] = exc.message
        return
    finally:
        await poller.close()
    if s is None:
        failures[entry.name] = "skipped: another instance is polling this mailbox"
        return
    results.append(
        {
            "source": s.source,
            "fetched": s.fetched,
            "new": s.new,
            "classes": dict(s.by_class),
            "outcomes": dict(s.by_outcome),
            "seconds": round(s.seconds, 3),
        }
    )
