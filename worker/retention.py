"""Retention and the right to erasure (DESIGN rule 7)."""

from __future__ import annotations

from datetime import timedelta

import structlog

from worker.core.addresses import address_hash, mask, normalise
from worker.core.model import AuditKind
from worker.service import OptoutService, require_text
from worker.store.repo import AuditRow
from worker.store.retention import drop_raw_before, forget_address

log = structlog.get_logger("optout.retention")


class Retention:
    def __init__(self, service: OptoutService, raw_days: int) -> None:
        self.service = service
        self.raw_days = raw_days

    def forget(self, address: str, *, actor: str, reason: str) -> dict[str, int]:
        """Delete a person's data; their opt-outs keep working by hash."""
        require_text(actor, "actor")
        require_text(reason, "reason")
        normalised = normalise(address)
        digest = address_hash(normalised)
        now = self.service.clock.now()
        with self.service.store.transaction() as tx:
            counts = forget_address(tx, digest)
            tx.add_audit(
                AuditRow(
                    kind=AuditKind.FORGOTTEN,
                    at=now,
                    address_hash=digest,
                    address_masked=mask(normalised),
                    actor=actor,
                    detail={"reason": reason, **counts},
                )
            )
        log.info("privacy.forgotten", address=mask(normalised), actor=actor, **counts)
        return counts

    def purge_raw(self) -> int:
        cutoff = self.service.clock.now() - timedelta(days=self.raw_days)
        with self.service.store.transaction() as tx:
            n = drop_raw_before(tx, cutoff)
        if n:
            log.info("retention.raw_dropped", items=n, older_than_days=self.raw_days)
        return n
