"""Bulk import of opt-outs (CSV rows already parsed by ``worker.core.imports``).

Batches of rows share a transaction and set-based statements — a 100,000-row list goes in
in seconds — while each row keeps its own request, deadline, audit event and idempotency
key, so re-importing the same file changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from worker.core.addresses import address_hash, mask
from worker.core.imports import ImportRow
from worker.core.model import AuditKind, Channel, NewRequest, Reason
from worker.service import FUTURE_SLACK, OptoutService
from worker.store.repo import AuditRow, RequestRow


@dataclass(frozen=True)
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    suppressions_created: int = 0


def import_rows(
    service: OptoutService,
    rows: Iterable[ImportRow],
    *,
    source: str,
    actor: str | None,
    batch: int = 2000,
) -> Iterator[ImportResult]:
    """Import in batches (one transaction each); yields a result per batch so the
    caller can show progress. Re-importing the same rows changes nothing."""
    chunk: list[ImportRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            yield _import_batch(service, chunk, source, actor)
            chunk = []
    if chunk:
        yield _import_batch(service, chunk, source, actor)


def _import_batch(
    service: OptoutService, rows: list[ImportRow], source: str, actor: str | None
) -> ImportResult:
    now = service.clock.now()
    prepared: dict[str, RequestRow] = {}
    for r in rows:
        received = r.received_at or now
        if received > now + FUTURE_SLACK:
            received = now
        digest = address_hash(r.address)
        # the row's own time, when it has one, is part of its identity; the import
        # time is not, or re-importing the same file would double every dateless row
        stamp = r.received_at.isoformat() if r.received_at else "-"
        key = f"import:{digest}:{r.scope}:{stamp}"
        req = NewRequest(
            address=r.address,
            scope=r.scope,
            channel=Channel.IMPORT,
            received_at=received,
            evidence_key=key,
            actor=actor,
            note=r.note,
            evidence={"file": source, "line": r.line},
        )
        prepared[key] = service.request_row(req, digest, now)
    with service.store.transaction() as tx:
        ids = tx.insert_requests(list(prepared.values()))
        inserted = [(ids[key], prepared[key]) for key in prepared if key in ids]
        created = tx.insert_suppressions(
            [
                {
                    "address": v.address,
                    "address_hash": v.address_hash,
                    "scope": v.scope,
                    "reason": Reason.OPT_OUT.value,
                    "channel": Channel.IMPORT.value,
                    "since": v.received_at,
                    "request_id": request_id,
                    "updated_at": now,
                }
                for request_id, v in inserted
            ]
        )
        tx.add_audits(
            [
                AuditRow(
                    kind=AuditKind.IMPORTED,
                    at=now,
                    request_id=request_id,
                    address_hash=v.address_hash,
                    address_masked=mask(v.address),
                    channel=Channel.IMPORT.value,
                    actor=actor,
                    detail={"scope": v.scope, **v.evidence},
                )
                for request_id, v in inserted
            ]
        )
    return ImportResult(len(inserted), len(prepared) - len(inserted), len(created))
