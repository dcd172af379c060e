"""`optout headers` and `optout keys …`: the commands issue 3 adds to the `optout` group.

Kept out of ``worker/cli.py`` so the link and API-key commands live beside nothing else;
``worker/cli.py`` imports this module once, at its end, to register them.
"""

from __future__ import annotations

import json

import click

from worker.apikeys import ApiKeys, Scope
from worker.cli import _console, _open, _table, cli, config_option
from worker.core.times import iso
from worker.links import LinkService
from worker.store.keys import ApiKeyView, KeyStore


@cli.command()
@click.argument("address")
@click.option("--category", "-c", required=True, help="The category of the message.")
@click.option("--json", "as_json", is_flag=True, help="Answer as JSON.")
@config_option
def headers(address: str, category: str, as_json: bool, config_file: str | None) -> None:
    """The List-Unsubscribe and List-Unsubscribe-Post headers for one message.

    A transactional category gets no unsubscribe headers: the command says so and
    exits 0, because that is the right answer, not an error.
    """
    app = _open(config_file)
    try:
        answer = LinkService.from_settings(app.service, app.settings).headers(address, category)
    finally:
        app.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "address": answer.address,
                    "category": answer.category,
                    "transactional": answer.transactional,
                    "headers": answer.headers,
                    "note": answer.note,
                },
                indent=2,
            )
        )
        return
    if answer.transactional:
        click.echo(f"no unsubscribe headers: {answer.note}")
        return
    for name, value in answer.headers.items():
        click.echo(f"{name}: {value}")


@cli.group()
def keys() -> None:
    """API keys for the /v1 suppression API (stored hashed; shown once)."""


def _keys(config_file: str | None) -> ApiKeys:
    app = _open(config_file)
    return ApiKeys(KeyStore(app.store), app.service.clock)


@keys.command("create")
@click.option("--name", required=True, help="Who holds the key (e.g. the ESP integration).")
@click.option(
    "--scope",
    type=click.Choice([s.value for s in Scope]),
    required=True,
    help="check: checks, export, headers; admin: also suppress and lift.",
)
@config_option
def keys_create(name: str, scope: str, config_file: str | None) -> None:
    """Make a key and print it once; only its hash is kept."""
    new = _keys(config_file).create(name, scope)
    click.echo(new.key)
    click.echo(
        f"created API key {new.view.id} {new.view.name!r} (scope {new.view.scope}); "
        "store it now, it cannot be shown again",
        err=True,
    )


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@config_option
def keys_list(as_json: bool, config_file: str | None) -> None:
    """Every key: name, scope, prefix, created, last used, revoked."""
    rows = _keys(config_file).list()
    if as_json:
        click.echo(json.dumps([_key_dict(k) for k in rows], indent=2))
        return
    table = _table("id", "name", "scope", "prefix", "created", "last used", "revoked")
    for k in rows:
        table.add_row(
            str(k.id),
            k.name,
            k.scope,
            k.prefix + "…",
            iso(k.created_at) or "",
            iso(k.last_used_at) or "never",
            iso(k.revoked_at) or "",
        )
    _console().print(table)


@keys.command("revoke")
@click.argument("name_or_id")
@config_option
def keys_revoke(name_or_id: str, config_file: str | None) -> None:
    """Revoke a key by name or id (a running server stops taking it within seconds)."""
    view = _keys(config_file).revoke(name_or_id)
    click.echo(f"revoked API key {view.id} {view.name!r} at {iso(view.revoked_at)}")


def _key_dict(k: ApiKeyView) -> dict[str, object]:
    return {
        "id": k.id,
        "name": k.name,
        "scope": k.scope,
        "prefix": k.prefix,
        "created_at": iso(k.created_at),
        "last_used_at": iso(k.last_used_at),
        "revoked_at": iso(k.revoked_at),
    }
