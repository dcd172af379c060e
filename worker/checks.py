"""The check API's service: "may category C go to address A?", for one address or 100,000.

Same rules as :meth:`OptoutService.check` (``worker.core.decision.may_send`` decides), but
reads go through :class:`worker.store.fast.FastReads` because these are the calls a
marketing system makes per message, and the bulk check spends most of its time
normalising addresses, so ordinary addresses take a fast path that gives exactly what
:func:`worker.core.addresses.normalise` gives (a property test holds them together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from worker.core.addresses import address_hash, normalise
from worker.core.categories import Categories
from worker.core.decision import may_send
from worker.core.model import Decision
from worker.errors import InvalidAddress
from worker.store.fast import FastReads

#: the normaliser the checks use (the fast path lives in worker.core.addresses)
quick_normalise = normalise


@dataclass(frozen=True)
class BulkAnswer:
    category: str
    checked: int
    suppressed: list[str]
    invalid: list[str]


class CheckService:
    def __init__(self, categories: Categories, reads: FastReads) -> None:
        self.categories = categories
        self.reads = reads

    def check(self, address: str, category: str) -> tuple[str, Decision]:
        """The normalised address and the decision; raises for a bad address or category."""
        self.categories.get(category)
        normalised = quick_normalise(address)
        active = self.reads.active_suppressions(address_hash(normalised))
        return normalised, may_send(self.categories, category, active)

    def suppressed_among(self, addresses: Sequence[str], category: str) -> BulkAnswer:
        """The addresses (as given) that must not get ``category``.

        A malformed address is listed in ``invalid`` instead of failing the call: one typo
        in a list of 100,000 should not stop the other 99,999 from being checked.
        """
        scopes = self.categories.scopes_blocking(category)
        first: dict[str, str] = {}  # hash → the address as given (the usual case: one)
        more: dict[str, list[str]] = {}  # hash → further spellings of the same address
        invalid: list[str] = []
        digest_of, quick = address_hash, quick_normalise  # locals: this loop runs 100k times
        for raw in addresses:
            try:
                digest = digest_of(quick(raw))
            except InvalidAddress:
                invalid.append(raw)
                continue
            if digest in first:
                more.setdefault(digest, []).append(raw)
            else:
                first[digest] = raw
        hits = self.reads.blocked_hashes(list(first), scopes)
        suppressed = [first[h] for h in hits]
        for h in hits & more.keys():
            suppressed.extend(more[h])
        return BulkAnswer(category, len(addresses), suppressed, invalid)
