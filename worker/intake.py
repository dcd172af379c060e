"""Inbound messages: classify, plan, record — each message atomic, committed before it moves.

A source hands over raw bytes with a stable key; this module decides and commits, and
only then may the source move the message (DESIGN rule 8). Seeing the same key again
(a crash between commit and move) changes nothing and just answers where it goes.

Classification (the costly part) happens before and outside the transaction, see
:mod:`worker.core.prepared`. The items of one fetched batch are then committed together:
every item's whole outcome (ledger row, requests, suppressions, audit events) is in the
same commit, so each item is all-or-nothing and none is moved before that commit. When
anything in a batch fails, the batch is rolled back and replayed one item per
transaction, so one bad message is dead-lettered alone and cannot block the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog

from worker.core.addresses import mask
from worker.core.addresses import recent_address_hash as address_hash
from worker.core.deadlines import calendar_deadline
from worker.core.model import AuditKind, NewRequest, RequestStatus, RequestView
from worker.core.plan import (
    LASTING_CAUSES,
    Action,
    Disposition,
    Effects,
    Plan,
    SoftBounce,
    escalated_plan,
    escalation,
    plan,
)
from worker.core.tokens import InvalidToken, KeyRing, TokenClaims
from worker.core.verdict import Classification, MessageClass, Prepared
from worker.errors import DatabaseUnavailable, InvalidState, NotFound
from worker.mailer import Mailer
from worker.service import OptoutService, require_text
from worker.store import inbound as q
from worker.store import rawcodec
from worker.store.repo import AuditRow, Tx

log = structlog.get_logger("optout.intake")

#: bodies above this are kept out of the classifier and go to review as they are
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class Inbound(Protocol):
    """One message as a source hands it over (``sources.base.RawItem`` is one)."""

    @property
    def source(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def raw(self) -> bytes: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def size(self) -> int: ...
    @property
    def too_large(self) -> bool: ...


@dataclass(frozen=True)
class Received:
    """An :class:`Inbound` made by hand: a replayed dead letter, a test, a script."""

    source: str
    key: str
    raw: bytes = field(repr=False)
    received_at: datetime
    size: int
    too_large: bool = False


@dataclass(frozen=True)
class ItemResult:
    item_id: int
    disposition: Disposition
    message_class: str | None
    new: bool
    request_ids: tuple[int, ...] = ()
    confirmable: bool = False


@dataclass(frozen=True)
class IntakePolicy:
    effects: Effects = field(default_factory=Effects)
    privacy_days: int = 45
    max_bytes: int = DEFAULT_MAX_BYTES
    #: our own addresses: never a bounce's failed recipient or a complainant
    ours: frozenset[str] = frozenset()


class IntakeService:
    def __init__(
        self,
        service: OptoutService,
        keyring: KeyRing | None,
        policy: IntakePolicy,
        *,
        mailer: Mailer | None = None,
    ) -> None:
        self.service = service
        self.keyring = keyring
        self.policy = policy
        self.mailer = mailer

    @property
    def clock(self) -> Any:
        return self.service.clock

    # -- processing ------------------------------------------------------------------
    def process(
        self,
        source: str,
        key: str,
        raw: bytes,
        received_at: datetime,
        *,
        too_large: bool = False,
        size: int | None = None,
    ) -> ItemResult:
        """Decide and commit one message. Raises only when the database is unavailable,
        in which case the message must stay where it is, to be taken again later.

        ``too_large``: the source loaded only the header block; a person decides.
        """
        item = Received(
            source, key, raw, received_at, len(raw) if size is None else size, too_large
        )
        return self.process_many([item])[0]

    def process_many(self, items: Sequence[Inbound]) -> list[ItemResult]:
        """:meth:`done` + classification in this thread + :meth:`commit_many`."""
        # here, not at the top: the poller's parent process commits what its classifier
        # processes send and never needs the classifier's modules (see core.verdict)
        from worker import regex_cache

        prepare_many = regex_cache.import_module("worker.core.prepared").prepare_many

        done = self.done(items)
        todo = [i for i in items if (i.source, i.key) not in done]
        fresh = iter(
            self.commit_many(
                todo, prepare_many([i.raw for i in todo], self.policy.max_bytes, self.policy.ours)
            )
        )
        return [done.get((i.source, i.key)) or next(fresh) for i in items]

    def done(self, items: Sequence[Inbound]) -> dict[tuple[str, str], ItemResult]:
        """Items already decided (taken again after a crash between commit and move):
        one query, so the costly classification is skipped for them."""
        with self.service.store.transaction() as tx:
            seen = q.find_items(tx, [(i.source, i.key) for i in items])
        return {k: _result(v, new=False) for k, v in seen.items() if v.status != "failed"}

    def commit_many(
        self, items: Sequence[Inbound], prepared: Sequence[Prepared]
    ) -> list[ItemResult]:
        """Commit the outcomes of classified items; all in one transaction when they can
        be, else one transaction per item with failures dead-lettered (see module doc)."""
        if not items:
            return []
        started = time.perf_counter()
        try:
            with self.service.store.transaction() as tx:
                results = self._commit_set(tx, items, prepared)
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            if len(items) > 1:
                log.warning("intake.batch_replayed", items=len(items), error=repr(exc))
                return [self.commit_many([i], [p])[0] for i, p in zip(items, prepared, strict=True)]
            log.error("intake.failed", source=items[0].source, key=items[0].key, error=repr(exc))
            results = [self._dead_letter(items[0], prepared[0], exc)]
        if not _info_enabled():  # `optout poll` logs at warning: 10,000 no-op calls saved
            return results
        ms = round((time.perf_counter() - started) * 1000, 1)
        for item, result in zip(items, results, strict=True):
            log.info(
                "intake.item",
                source=item.source,
                item_id=result.item_id,
                **{"class": result.message_class},
                outcome=result.disposition.value,
                requests=list(result.request_ids),
                new=result.new,
                batch=len(items),
                commit_ms=ms,
            )
        return results

    def _commit_set(
        self, tx: Tx, items: Sequence[Inbound], prepared: Sequence[Prepared]
    ) -> list[ItemResult]:
        """Rounds of set-based statements. A Message-ID (or key) seen twice in the batch
        waits for the next round, where it finds its twin as a committed-to-be row."""
        results: list[ItemResult | None] = [None] * len(items)
        pending = list(range(len(items)))
        while pending:
            this_round: list[int] = []
            later: list[int] = []
            mids: set[str] = set()
            keys: set[tuple[str, str]] = set()
            for i in pending:
                mid = prepared[i].classification.message_id
                key = (items[i].source, items[i].key)
                if key in keys or (mid is not None and mid in mids):
                    later.append(i)
                    continue
                keys.add(key)
                if mid is not None:
                    mids.add(mid)
                this_round.append(i)
            self._commit_round(tx, items, prepared, this_round, results)
            pending = later
        return [r for r in results if r is not None]

    def _commit_round(
        self,
        tx: Tx,
        items: Sequence[Inbound],
        prepared: Sequence[Prepared],
        idx: list[int],
        results: list[ItemResult | None],
    ) -> None:
        now = self.clock.now()
        seen = q.find_items(tx, [(items[i].source, items[i].key) for i in idx])
        mids = [m for i in idx if (m := prepared[i].classification.message_id)]
        twins = q.first_by_message_ids(tx, mids)
        plans: dict[int, Plan] = {}
        seconds: set[int] = set()  # a second copy of a message decided before (twin)
        ids: dict[int, int] = {}
        fresh: list[tuple[int, q.NewItem]] = []
        for i in idx:
            item, prep = items[i], prepared[i]
            c = prep.classification
            was = seen.get((item.source, item.key))
            if was is not None and was.status != "failed":
                results[i] = _result(was, new=False)
                continue
            twin = twins.get(c.message_id) if c.message_id else None
            if twin is not None:
                seconds.add(i)
            p = Plan(Disposition.PROCESSED) if twin is not None else self._plan(item, c)
            plans[i] = p
            fields = _item_fields(item, prep, p, twin, now, p.disposition.value)
            if was is not None:  # a failed item taken again: retry in place
                q.update_item(tx, was.id, **fields, attempts=was.attempts + 1, error=None)
                ids[i] = was.id
            else:
                fresh.append((i, q.NewItem(**fields, error=None, created_at=now)))
        ids.update(
            zip([i for i, _ in fresh], q.insert_items(tx, [n for _, n in fresh]), strict=True)
        )
        # Rows are dropped once written (here and below): whatever is alive when the
        # garbage collector runs moves on to an older generation, which it traverses
        # again, and recording the requests is most of a batch's allocations. 2,400
        # containers a batch fewer: the generation-1 collections of a 10,000-message
        # commit took 9 ms instead of 15 ms (the full ones, 2, stayed)
        del fresh
        bounced = self._soft_bounces(tx, items, prepared, plans, ids, now, seconds)
        audits: list[AuditRow] = []
        reqs: list[NewRequest] = []
        owners: list[int] = []
        for i, p in plans.items():
            c = prepared[i].classification
            audits.extend(_item_audits(ids[i], items[i].source, c, p, now))
            audits.extend(bounced.get(i, ()))
            for a in p.actions:
                reqs.append(_request(ids[i], a, c, items[i]))
                owners.append(i)
        tx.add_audits(audits)
        del audits, bounced  # written: see ``del fresh``
        outcomes = self.service.record_batch_in(tx, reqs)
        q.link_requests(
            tx, [(ids[o], out.request.id) for o, out in zip(owners, outcomes, strict=True)]
        )
        views: dict[int, list[RequestView]] = {}
        for o, out in zip(owners, outcomes, strict=True):
            views.setdefault(o, []).append(out.request)
        no_views: list[RequestView] = []
        self._privacy(tx, [(ids[i], p, items[i].received_at) for i, p in plans.items()], now)
        for i, p in plans.items():
            c = prepared[i].classification
            made = views.get(i, no_views)
            if p.confirmable and self.mailer is not None:
                self._confirm(tx, made, c)
            results[i] = ItemResult(
                ids[i],
                p.disposition,
                c.message_class.value,
                True,
                tuple([v.id for v in made]),  # a list, not a generator: 0.5 µs an item
                p.confirmable,
            )

    def _soft_bounces(
        self,
        tx: Tx,
        items: Sequence[Inbound],
        prepared: Sequence[Prepared],
        plans: dict[int, Plan],
        ids: dict[int, int],
        now: datetime,
        seconds: set[int],
    ) -> dict[int, list[AuditRow]]:
        """A ``bounced`` audit event for each failed recipient of a soft bounce, under
        that recipient's own address hash: `optout log --address` then answers "why did
        my receipt not arrive" (a hard bounce leaves its request and suppression there).
        With ``soft_bounce_limit`` set, a mailbox that has bounced as full or disabled
        that often, for that long (plan.escalation), gets the hard-bounce effect: its
        item's plan is replaced here, before the batch's requests are recorded."""
        rows: dict[int, list[AuditRow]] = {}
        lasting: list[tuple[int, str, str, SoftBounce]] = []
        for i, p in plans.items():
            c = prepared[i].classification
            if c.message_class is not MessageClass.BOUNCE or c.bounce_kind != "soft":
                continue
            if p.actions or i in seconds:  # a second copy was counted with the first
                continue
            bounce = SoftBounce(items[i].received_at, c.bounce_cause)
            for address in c.addresses:
                digest = address_hash(address)
                detail = {
                    "item_id": ids[i],
                    "kind": "soft",
                    "cause": c.bounce_cause,
                    "received_at": items[i].received_at.isoformat(),
                    "message_id": c.message_id,
                }
                rows.setdefault(i, []).append(
                    AuditRow(AuditKind.BOUNCED, now, None, digest, mask(address), "bounce",
                             detail=detail)
                )  # fmt: skip
                if bounce.cause in LASTING_CAUSES:
                    lasting.append((i, address, digest, bounce))
        effects = self.policy.effects
        if not lasting or effects.soft_bounce_limit <= 0:
            return rows
        history = q.soft_bounces(tx, {digest for _i, _a, digest, _b in lasting})
        escalated: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        for i, address, digest, bounce in lasting:
            earlier = history.setdefault(digest, [])
            evidence = escalation(earlier, bounce, effects)
            earlier.append(bounce)  # a later bounce of this batch counts this one
            if evidence is not None:
                escalated.setdefault(i, []).append((address, evidence))
        for i, found in escalated.items():
            plans[i] = escalated_plan(found, effects)
        return rows

    def _plan(self, item: Inbound, c: Classification) -> Plan:
        if item.too_large:
            why = f"message of {item.size} bytes is over the size limit; headers only"
            return Plan(Disposition.REVIEW, review_reasons=(why,))
        token, problem = self._token(c)
        return plan(c, token=token, token_problem=problem, effects=self.policy.effects)

    def _token(self, c: Classification) -> tuple[TokenClaims | None, str | None]:
        if not c.tokens:
            return None, None
        if self.keyring is None:
            return None, "token present but no token keys are configured"
        for raw in c.tokens:
            for verify in (self.keyring.verify_mailto, self.keyring.verify):
                try:
                    return verify(raw), None
                except InvalidToken:
                    continue
        return None, "token present but invalid"

    def _confirm(self, tx: Tx, requests: list[RequestView], c: Classification) -> None:
        assert self.mailer is not None
        for view in requests:
            if view.status is RequestStatus.APPLIED:
                self.mailer.confirm_in(
                    tx, view, message_class=c.message_class.value, machine=c.machine,
                    in_reply_to=c.message_id,
                )  # fmt: skip

    def _privacy(self, tx: Tx, found: list[tuple[int, Plan, datetime]], now: datetime) -> None:
        """Queue the privacy requests of a batch, each with its calendar-day deadline."""
        tz = self.service.policy.calendar.tz
        rows = [
            q.NewPrivacy(
                item_id=item_id,
                address=p.privacy_address,
                address_hash=address_hash(p.privacy_address),
                kinds=p.privacy_kinds,
                received_at=received_at,
                deadline=calendar_deadline(received_at, self.policy.privacy_days, tz),
            )
            for item_id, p, received_at in found
            if p.privacy_address
        ]
        ids = q.insert_privacies(tx, rows, now)
        tx.add_audits(
            [
                AuditRow(
                    kind=AuditKind.RECEIVED,
                    at=now,
                    address_hash=r.address_hash,
                    address_masked=mask(r.address),
                    channel="email",
                    detail={"privacy_request": pid, "kinds": list(r.kinds), "item_id": r.item_id},
                )
                for r, pid in zip(rows, ids, strict=True)
            ]
        )

    def _dead_letter(self, item: Inbound, prep: Prepared, exc: Exception) -> ItemResult:
        """Kept with its error and raw bytes, replayable with `optout review retry`."""
        now = self.clock.now()
        c = prep.classification
        p = Plan(Disposition.REVIEW, review_reasons=("processing failed",))
        fields = _item_fields(item, prep, p, None, now, "failed")
        error = f"{type(exc).__name__}: {exc}"[:2000]
        with self.service.store.transaction() as tx:
            was = q.find_items(tx, [(item.source, item.key)]).get((item.source, item.key))
            if was is not None:
                q.update_item(tx, was.id, **fields, error=error, attempts=was.attempts + 1)
                item_id = was.id
            else:
                (item_id,) = q.insert_items(tx, [q.NewItem(**fields, error=error, created_at=now)])
        return ItemResult(item_id, Disposition.REVIEW, c.message_class.value, True)

    # -- review ----------------------------------------------------------------------
    def review_items(self, limit: int = 200) -> list[q.ItemView]:
        with self.service.store.transaction() as tx:
            return q.list_items(tx, ("review", "failed"), limit)

    def item(self, item_id: int) -> tuple[q.ItemView, bytes | None]:
        with self.service.store.transaction() as tx:
            view = q.get_item(tx, item_id)
            if view is None:
                raise NotFound(f"inbound item {item_id}")
            return view, q.item_raw(tx, item_id)

    def review_apply(self, item_id: int, *, actor: str, reason: str) -> list[int]:
        """Apply what the item asked for (its held requests), resolving the item."""
        with self.service.store.transaction() as tx:
            view = self._open_item(tx, item_id)
            held = self._held(tx, view)
            if not held:
                raise InvalidState(
                    f"item {item_id} holds no request to apply; record one with `optout suppress`"
                    " and dismiss the item"
                )
            for rid in held:
                self.service.apply_pending_in(tx, rid, actor=actor, reason=reason)
            self._resolve(tx, view, actor, "applied", reason)
        return held

    def review_dismiss(self, item_id: int, *, actor: str, reason: str) -> None:
        with self.service.store.transaction() as tx:
            view = self._open_item(tx, item_id)
            for rid in self._held(tx, view):
                self.service.dismiss_in(tx, rid, actor=actor, reason=reason)
            self._resolve(tx, view, actor, "dismissed", reason)

    def close_privacy(self, privacy_id: int, *, actor: str, reason: str) -> None:
        """Record that a privacy request was answered; its deadline alerts end."""
        require_text(actor, "actor")
        require_text(reason, "reason")
        now = self.clock.now()
        with self.service.store.transaction() as tx:
            digest = q.close_privacy(tx, privacy_id, actor=actor, note=reason, now=now)
            tx.add_audit(
                AuditRow(AuditKind.REVIEWED, now, None, digest, None, "email", actor,
                         {"privacy_request": privacy_id, "outcome": "closed", "reason": reason})
            )  # fmt: skip

    def retry(self, item_id: int) -> ItemResult:
        """Replay a failed item from its stored raw message."""
        view, raw = self.item(item_id)
        if view.status != "failed":
            raise InvalidState(f"item {item_id} is {view.status}, not failed")
        if raw is None:
            raise InvalidState(f"item {item_id} has no stored message left to replay")
        return self.process(view.source, view.item_key, raw, view.received_at, size=view.size)

    def _open_item(self, tx: Tx, item_id: int) -> q.ItemView:
        view = q.get_item(tx, item_id)
        if view is None:
            raise NotFound(f"inbound item {item_id}")
        if view.status not in ("review", "failed"):
            raise InvalidState(f"item {item_id} is {view.status}, not waiting for review")
        return view

    @staticmethod
    def _held(tx: Tx, view: q.ItemView) -> list[int]:
        held = []
        for rid in view.request_ids:
            r = tx.get_request(rid)
            if r is not None and r.status in (RequestStatus.NEEDS_REVIEW, RequestStatus.PENDING):
                held.append(rid)
        return held

    def _resolve(self, tx: Tx, view: q.ItemView, actor: str, outcome: str, reason: str) -> None:
        now = self.clock.now()
        detail = {**view.detail, "resolution": outcome, "resolution_reason": reason}
        q.update_item(tx, view.id, status="resolved", resolved_at=now, resolved_by=actor,
                      detail=detail)  # fmt: skip
        kind = AuditKind.REVIEWED if outcome == "applied" else AuditKind.DISMISSED
        tx.add_audit(
            AuditRow(kind, now, None, None, view.sender_masked, "email", actor,
                     {"item_id": view.id, "outcome": outcome, "reason": reason})
        )  # fmt: skip


def _info_enabled() -> bool:
    """Whether ``log.info`` would write; True where the logger cannot tell."""
    check = getattr(log, "is_enabled_for", None)
    return check is None or bool(check(logging.INFO))


def _item_fields(
    item: Inbound,
    prep: Prepared,
    p: Plan,
    twin: int | None,
    now: datetime,
    status: str,
) -> dict[str, Any]:
    c = prep.classification
    # The arrays are the classification's and the plan's own tuples, not lists made of
    # them: json writes a tuple as it writes a list (test_bulk_equality compares the
    # texts), and a tuple of strings, unlike a list, is dropped from the garbage
    # collector's lists at its next pass, as is a dict that holds only such values.
    # Every list kept alive until the batch's INSERTs was traversed by each full
    # collection after it: 7 lists a message, 35 % of the containers a batch keeps;
    # without them a 10,000-message commit ran 1 full collection fewer (of 3, 50 ms each)
    detail: dict[str, Any] = {
        "evidence": c.evidence,
        "review_reasons": p.review_reasons,
        "addresses": tuple(map(mask, c.addresses)),
        "bounce_kind": c.bounce_kind,
        "bounce_cause": c.bounce_cause,
        "feedback_type": c.feedback_type,
        "privacy_kinds": c.privacy_kinds,
        "machine": c.machine,
    }
    if twin is not None:
        detail["duplicate_of"] = twin
    stored, codec = rawcodec.pack(item.raw)
    return {
        "source": item.source,
        "item_key": item.key,
        "message_id": c.message_id[:998] if c.message_id else None,
        "received_at": item.received_at,
        "size": item.size,
        "raw": stored,
        "raw_codec": codec,
        "raw_sha256": prep.sha256,
        "status": status,
        "message_class": c.message_class.value,
        "confidence": c.confidence,
        "sender_hash": address_hash(c.sender) if c.sender else None,
        "sender_masked": mask(c.sender) if c.sender else None,
        "subject": prep.subject,
        "detail": detail,
    }


def _item_audits(
    item_id: int, source: str, c: Classification, p: Plan, now: datetime
) -> tuple[AuditRow, AuditRow]:
    """``received`` and ``classified``, with the evidence that decided (DESIGN rule 9)."""
    sender_hash = address_hash(c.sender) if c.sender else None
    masked = mask(c.sender) if c.sender else None
    base = {"item_id": item_id, "source": source, "message_id": c.message_id}
    classified = {
        **base,
        "class": c.message_class.value,
        "confidence": c.confidence,
        "evidence": c.evidence,  # tuples: see _item_fields
        "outcome": p.disposition.value,
        "review_reasons": p.review_reasons,
    }
    return (
        AuditRow(AuditKind.RECEIVED, now, None, sender_hash, masked, "email", detail=base),
        AuditRow(AuditKind.CLASSIFIED, now, None, sender_hash, masked, "email", detail=classified),
    )


def _request(item_id: int, a: Action, c: Classification, item: Inbound) -> NewRequest:
    """The request an action asks for; its evidence key makes a second delivery of the
    same mail (same Message-ID, any mailbox) a duplicate rather than a second request."""
    ident = f"msg:{c.message_id}" if c.message_id else f"item:{item.source}:{item.key}"
    return NewRequest(
        address=a.address,
        scope=a.scope,
        channel=a.channel,
        received_at=item.received_at,
        evidence_key=f"{ident}:{address_hash(a.address)[:16]}:{a.reason.value}"[:255],
        actor=f"source:{item.source}",
        reason=a.reason,
        evidence={**a.evidence, "message_id": c.message_id, "item_id": item_id},
        needs_review=a.review,
    )


def _result(view: q.ItemView, *, new: bool) -> ItemResult:
    disposition = Disposition.PROCESSED if view.status == "processed" else Disposition.REVIEW
    return ItemResult(view.id, disposition, view.message_class, new, view.request_ids)
