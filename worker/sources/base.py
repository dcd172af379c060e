"""The intake contract: what a source hands over, and how it is told where an item went.

A source turns a mailbox into :class:`RawItem` values and, only after the caller has
committed an item's outcome, moves the message away with :meth:`Source.settle`
(DESIGN rule 8). Sources never classify and never touch the database; the one piece of
state they keep across restarts goes through the small :class:`Checkpoint` interface,
which the service backs with its own table.

Hand-out semantics, shared by every source:

- ``fetch`` returns items in arrival order and never hands the same item out twice in
  one session, so a pass drains a backlog even when some items are not settled;
- an item handed out but not settled (the process died, or the database was down) is
  handed out again after ``rewind()`` or a new session (``connect()``): nothing is lost,
  and the service recognises the key it has already committed;
- ``settle`` is idempotent: settling an item that is already where it should be is a
  no-op, so "commit, crash, restart, settle" needs no special case; ``settle_many`` is
  the same for a batch, in as few server round trips as the source allows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from worker.core.plan import Disposition
from worker.errors import OptoutError

__all__ = [
    "Backoff",
    "Checkpoint",
    "Disposition",
    "RawItem",
    "Source",
    "SourceLoginFailed",
    "SourceUnavailable",
]

#: bodies above this are not loaded; the item carries its headers and ``too_large``
DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024
#: messages per batch of the poller's pipeline (worker.poller): one classification
#: hand-off and one commit each. The source fetches them in its own smaller FETCH
#: commands (``batch_size``); a commit costs
#: about 0.30 ms a message at 50 and 0.22 ms at 250 (SQLite), the rest being per-row work;
#: 500 took 9 % off a 10,000-message pass against 250 (four paired runs), 1,000 no more
COMMIT_EVERY = 500
#: fetched batches of the pipeline that may wait for their commit (memory stays flat in
#: the backlog).
#: Fetches and moves share the one connection, so a fetch waits while a move holds it
#: (0.03-0.2 s for 500 on Dovecot's Maildir, longer for the larger moves late in a
#: pass); with 2 the classifier process ran dry in those waits, 0.37-0.41 s of a
#: 10,000-message pass, with 4 it idles 0.15-0.21 s (traced: every classify, fetch,
#: commit and move timed, three runs each), and the database thread after it: sampled
#: every 20 ms, the classifier stood idle for a whole 100 ms while Dovecot moved 4,000
#: messages. With 8 the pass took 4 % less (2.09 -> 2.03 s, medians of 8 rounds
#: against 4; 12 was no better). 8 batches of 500 are about 13 MB of bodies at the
#: corpus's sizes.
AHEAD = 8
#: batches `optout poll` fetches and hands to the classifier before its database is
#: open (worker.cli_intake): each is fetched on the event loop while a thread imports
#: and opens the database side, and both hold the one interpreter lock; more than 4
#: did not open the database sooner nor end the pass sooner
HEAD_START = 4


class SourceUnavailable(OptoutError):
    """mail source unavailable"""


class SourceLoginFailed(SourceUnavailable):
    """mail source refused the login"""


@dataclass(frozen=True)
class RawItem:
    """One inbound message as the source found it; bytes untouched.

    ``key`` is stable for the message within its source (IMAP ``"{uidvalidity}:{uid}"``,
    Maildir the unique base file name), so the service can make processing idempotent.
    ``received_at`` is when the *server* received it (IMAP INTERNALDATE, Maildir delivery
    time), never the sender's Date header, because deadlines run from receipt.
    When ``too_large`` is set, ``raw`` holds only the header block and ``size`` the real
    size: the body was not loaded, so one huge message cannot exhaust memory.
    """

    source: str
    key: str
    raw: bytes = field(repr=False)  # never in logs or tracebacks
    received_at: datetime
    size: int
    too_large: bool = False

    def without_body(self) -> RawItem:
        """This item with ``raw`` emptied: what a committed item waiting for its move
        keeps (a move needs the key only), so up to a move's worth of bodies is not held.

        A copy of the instance dict rather than ``dataclasses.replace``, which costs five
        times as much (it inspects the fields and runs the frozen ``__init__``): it ran
        for every message of a pass on the event loop, 1.5 µs each.
        """
        clone = object.__new__(RawItem)
        clone.__dict__.update(self.__dict__, raw=b"")
        return clone


class Checkpoint(Protocol):
    """Per-source key/value bookmarks that survive a restart (backed by the database)."""

    def get(self, source: str, key: str) -> str | None: ...

    def set(self, source: str, key: str, value: str) -> None: ...


@runtime_checkable
class Source(Protocol):
    """An intake adapter; see the module docstring for the hand-out semantics."""

    @property
    def name(self) -> str: ...

    async def connect(self) -> None:
        """Open (or re-open) the session; raises :class:`SourceUnavailable`."""
        ...

    async def fetch(self, limit: int) -> list[RawItem]:
        """Up to ``limit`` items not handed out in this session, oldest first."""
        ...

    async def settle(self, item: RawItem, disposition: Disposition) -> None:
        """Move a committed item to the processed or review folder (idempotent)."""
        ...

    async def settle_many(self, items: Sequence[tuple[RawItem, Disposition]]) -> None:
        """:meth:`settle` for a batch of committed items, in as few server commands as
        possible; same semantics (idempotent, items already moved are fine).

        It exists because moving mail one message at a time dominated intake: Dovecot
        spends 1.8 ms per single ``UID MOVE`` at 1,000 messages in the mailbox and
        5.4 ms at 5,000, against 0.08–0.16 ms per message when one ``UID MOVE <set>``
        moves 50. IMAP sends one MOVE (or COPY + STORE + EXPUNGE) per target folder and
        updates its checkpoint once; Maildir simply renames each file. On
        :class:`SourceUnavailable` some items may be moved and others not: settle the
        whole batch again after reconnecting (idempotency makes that safe).
        """
        ...

    async def wait_for_new(self, timeout: float) -> bool:
        """Return True as soon as new mail may have arrived, False after ``timeout``."""
        ...

    def rewind(self) -> None:
        """Hand out again, at the next fetch, every item not settled yet."""
        ...

    async def reconnect(self, attempts: int | None = None) -> None:
        """``connect()`` until it works, sleeping with :class:`Backoff` between tries;
        after ``attempts`` failures the last :class:`SourceUnavailable` is raised."""
        ...

    async def close(self) -> None:
        """Save the checkpoint and let go of the session; safe to call twice."""
        ...


@dataclass
class Backoff:
    """Exponential backoff with jitter for reconnects.

    The n-th delay is drawn uniformly from ``[c/2, c]`` with ``c = min(cap, base·2^n)``:
    the jitter keeps several workers that lost the same server from reconnecting in
    lock-step, and the floor keeps a dead server from being hammered. ``rng`` is
    injectable so tests are deterministic.
    """

    base: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0
