"""SQLite: the WAL copied into the database file by a thread of its own, not by the writer.

In WAL mode every commit appends the pages it changed to the ``-wal`` file, and a
*checkpoint* copies them into the database file so that the WAL can start over. By
default the connection whose commit takes the WAL past ``wal_autocheckpoint`` pages
does it, inside that commit: an intake pass's commit of 500 replies, 55-70 ms, took
150-190 ms when it checkpointed (two fsyncs of 25-30 ms and some 14,000 page copies),
twice in a 10,000-reply pass, on the thread the whole pass waits on. Here a
:class:`Checkpointer` does it on its own thread and connection (a PASSIVE checkpoint:
it never blocks a reader or the writer), at most once every ``every`` seconds while
commits come in and once more after the last; the writers' own threshold stays, raised
to a backstop (see ``db._sqlite_pragmas``) for a checkpointer that cannot keep up.

SQLite starts the WAL over at the first write after a checkpoint that copied all of it,
so a checkpointer that catches up between two commits keeps the file short; in a long
burst the WAL grows until the burst ends, bounded by the backstop. The file is cut
back to ``journal_size_limit`` when it starts over. A PASSIVE checkpoint also syncs the
WAL first, so commits become durable across a power loss within ``every`` seconds of
being made, where before that waited for the next 10,000 pages.

The thread is started by the first commit and ends after ``idle`` seconds without one
(it closes its connection then), so a process that stops writing holds nothing open.
A checkpoint that fails (the disk full, the file gone) is logged and tried again at the
next commit; the writers' backstop still holds the WAL's size.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass

import structlog
from sqlalchemy import Engine, event

log = structlog.get_logger("optout.store.wal")

#: seconds between two checkpoints while commits come in
EVERY = 0.5
#: seconds without a commit after which the thread ends (and closes its connection)
IDLE = 30.0


@dataclass
class CheckpointStats:
    """What the checkpointer has done, for tests and the curious."""

    runs: int = 0
    failures: int = 0
    #: (busy, pages in the WAL, pages of it copied) after the last run, as SQLite says
    last: tuple[int, int, int] | None = None


class Checkpointer:
    """PASSIVE checkpoints of one SQLite database file, on a thread of its own."""

    def __init__(self, path: str, *, every: float = EVERY, idle: float = IDLE) -> None:
        self.path = path
        self.every = every
        self.idle = idle
        self.stats = CheckpointStats()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        #: monotonic time of the first commit not checkpointed yet (None: none waits)
        self._pending: float | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is there (it ends after ``idle`` seconds without commits)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def nudge(self) -> None:
        """A commit was made (called by the engine's commit event: cheap)."""
        with self._lock:
            if self._closed:  # being closed: that thread is ending
                return
            if self._pending is None:
                self._pending = time.monotonic()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="optout-wal-checkpoint", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread, after the checkpoint it is running, if any. The next commit
        starts it again (an engine is still usable after ``dispose``)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._closed = False
            self._pending = None
            if self._thread is thread:
                self._thread = None

    def checkpoint_now(self) -> tuple[int, int, int] | None:
        """One checkpoint on the calling thread (tests, `optout` maintenance)."""
        conn = self._connect()
        try:
            return self._checkpoint(conn)
        finally:
            conn.close()

    # -- the thread ---------------------------------------------------------------------
    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                if not self._wake.wait(self.idle):
                    with self._lock:  # idle: end, unless a commit came in meanwhile
                        if self._pending is None or self._closed:
                            self._thread = None
                            return
                self._wake.clear()
                with self._lock:
                    if self._closed:
                        return
                    since = self._pending
                if since is None:
                    continue
                # let commits gather: one checkpoint per ``every`` seconds at most
                delay = since + self.every - time.monotonic()
                if delay > 0 and self._sleep(delay):
                    return
                with self._lock:
                    self._pending = None
                if conn is None:
                    conn = self._connect()
                before = self.stats.last
                result = self._checkpoint(conn)
                if result is None:  # failed: again at the next commit, on a new connection
                    conn.close()
                    conn = None
                elif result[2] < result[1] and result != before:
                    # not all of it: a commit was still being written (the commit event
                    # comes before the commit), or a reader holds an older snapshot;
                    # again in ``every`` seconds, while that makes progress
                    with self._lock:
                        if self._pending is None:
                            self._pending = time.monotonic()
                    self._wake.set()
        finally:
            if conn is not None:
                conn.close()

    def _sleep(self, seconds: float) -> bool:
        """Sleep, unless closed meanwhile (True)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            with self._lock:
                if self._closed:
                    return True
            time.sleep(min(left, 0.05))
        return False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def _checkpoint(self, conn: sqlite3.Connection) -> tuple[int, int, int] | None:
        started = time.perf_counter()
        try:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            self.stats.failures += 1
            log.warning("wal.checkpoint_failed", path=self.path, error=str(exc))
            return None
        result = (int(busy), int(frames), int(copied))
        self.stats.runs += 1
        self.stats.last = result
        log.debug("wal.checkpoint", path=self.path, wal_pages=frames, copied=copied,
                  busy=busy, ms=round((time.perf_counter() - started) * 1000, 1))  # fmt: skip
        return result


_ATTACHED: weakref.WeakKeyDictionary[Engine, Checkpointer] = weakref.WeakKeyDictionary()


def attach(engine: Engine) -> Checkpointer | None:
    """The engine's checkpointer, made on first call: for a SQLite file, else None."""
    if engine.dialect.name != "sqlite":
        return None
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    found = _ATTACHED.get(engine)
    if found is None:
        found = _ATTACHED[engine] = Checkpointer(path)
        event.listen(engine, "commit", lambda _conn: found.nudge())
    return found
