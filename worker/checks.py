"""The check API's service: "may category C go to address A?", for one address or 100,000.

Same rules as :meth:`OptoutService.check` (``worker.core.decision.may_send`` decides), but
reads go through :class:`worker.store.fast.FastReads` because these are the calls a
marketing system makes per message. The bulk check's own work is normalising and hashing
the addresses: ordinary addresses take a fast path that gives exactly what
:func:`worker.core.addresses.normalise` gives (property tests hold them together), and
it runs a chunk ahead of the query, so most of it hides behind the database's time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from worker.core.addresses import address_hash, hashes_of, normalise
from worker.core.categories import Categories
from worker.core.decision import may_send
from worker.core.model import Decision
from worker.store.fast import FastReads

#: the normaliser the checks use (the fast path lives in worker.core.addresses)
quick_normalise = normalise

#: addresses hashed per query in a bulk check (the next chunk is hashed during the query);
#: smaller chunks measured slower on SQLite, larger ones hide less of the hashing
FIRST_CHUNK = 4096
CHUNK = 16384


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

        The addresses are hashed a chunk at a time and each chunk's query runs in a worker
        thread while this thread hashes the next (the database works without the GIL), so
        normalising and hashing hide behind the query instead of adding to it.
        """
        scopes = self.categories.scopes_blocking(category)
        first: dict[str, str] = {}  # hash → the address as given (the usual case: one)
        more: dict[str, list[str]] = {}  # hash → further spellings of the same address
        invalid: list[str] = []

        def new_hashes() -> Iterator[list[str]]:
            start, size = 0, FIRST_CHUNK  # a small first chunk: its hashing is not hidden
            while start < len(addresses):
                part = addresses[start : start + size]
                start, size = start + size, CHUNK
                fresh: list[str] = []
                for raw, digest in zip(part, hashes_of(part), strict=True):
                    if digest is None:
                        invalid.append(raw)
                    elif digest in first:
                        more.setdefault(digest, []).append(raw)
                    else:
                        first[digest] = raw
                        fresh.append(digest)
                yield fresh

        chunks = new_hashes()
        if len(addresses) <= FIRST_CHUNK:  # one query: no hand-over to a thread
            hits = self.reads.blocked_hashes(next(chunks, []), scopes)
        else:
            hits = self.reads.blocked_among(chunks, scopes)
        suppressed = [first[h] for h in hits]
        for h in hits & more.keys():
            suppressed.extend(more[h])
        return BulkAnswer(category, len(addresses), suppressed, invalid)
