"""IMAP intake (aioimaplib 2.0.3): fetch by UID, move after commit, IDLE, reconnect.

Why it is built this way (NOTES.md has the measurements):

- every server call is bounded by our own timeout *and* by the connection-lost signal,
  because aioimaplib's parser can log an error and then never complete a command;
- FETCH commands stay ≤ 100 messages (aioimaplib's own reader slowed down with the
  square of a response and recursed once per line; ``imap_proto.FastProtocol`` reads
  linearly, and the limit stays as the configuration's contract); each asks for sizes
  with the first 256 KB of the bodies, so a 200 MB message is never loaded: it is
  handed out with its header block only and ``too_large`` set;
- the checkpoint is a low-water mark ``"{uidvalidity}:{uid}"``: every UID up to it has
  been settled (moved away). Settled mail leaves the mailbox, so a stale mark costs only
  a rescan of gaps, never a repeat; a mark is never advanced past an unsettled UID, so
  a restart never skips one. A new UIDVALIDITY resets it and rescans the mailbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections import deque
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import aioimaplib
import structlog

from worker.config import ImapSource
from worker.core.addresses import mask
from worker.errors import ConfigError
from worker.sources import imap_wire as wire
from worker.sources.base import (
    DEFAULT_MAX_MESSAGE_BYTES,
    Backoff,
    Checkpoint,
    Disposition,
    RawItem,
    SourceLoginFailed,
    SourceUnavailable,
)
from worker.sources.imap_proto import FastIMAP4

log = structlog.get_logger("optout.sources.imap")

T = TypeVar("T")

#: largest sum of message sizes asked for in one body FETCH
_MAX_BATCH_BYTES = 32 * 1024 * 1024
#: settles between two checkpoint writes (a stale mark is safe, see module docstring)
_CHECKPOINT_EVERY = 500
#: body bytes asked for with each message's size and date in the one FETCH of a chunk;
#: longer messages (a fraction of a percent of an unsubscribe inbox) are asked again
_PEEK_BYTES = 256 * 1024
#: longest command line we send (RFC 7162 §4: clients should stay under 8,192 octets)
_MAX_COMMAND_CHARS = 8000
#: messages per UID MOVE/COPY: the response has one untagged EXPUNGE line per message,
#: which our reader (imap_proto) takes in a loop; as many as the poller's largest move
#: (poller.MOVE_MAX), since each command costs the server a sync of the whole folder
_MAX_SET_MESSAGES = 5000


class ImapMailSource:
    """One configured ``[[sources]]`` entry of kind ``imap``."""

    def __init__(
        self,
        settings: ImapSource,
        checkpoint: Checkpoint,
        *,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        use_move: bool = True,
        poll_seconds: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self.checkpoint = checkpoint
        self._password = password
        self._ssl_context = ssl_context
        self.timeout = timeout
        self.max_message_bytes = max_message_bytes
        self._allow_move = use_move  # False forces COPY + \Deleted + EXPUNGE (tests)
        self.poll_seconds = poll_seconds
        self.backoff = backoff or Backoff()
        self._client: Any = None
        self._lost: asyncio.Future[None] | None = None
        self._delimiter: str | None = "/"
        self._uidvalidity = 0
        self._watermark = 0  # every UID ≤ this is settled
        self._saved = 0  # the watermark last written to the checkpoint
        self._cursor = 0  # highest UID handed out (or skipped) in this session
        self._queue: deque[int] = deque()
        self._outstanding: set[int] = set()
        self._since_save = 0
        self._resume_pending = False  # selected, checkpoint not read yet (see resume)
        self._log = log.bind(source=settings.name)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def uses_move(self) -> bool:
        return self._allow_move and self._client is not None and self._has("MOVE")

    # -- session -------------------------------------------------------------------
    async def connect(self, *, resume: bool = True) -> None:
        """Log in and select the mailbox. ``resume=False`` leaves the checkpoint unread
        (see :meth:`resume`): `optout poll`'s head start connects and fetches while the
        database is still being opened."""
        await self._drop(logout=True)
        s = self.settings
        password = self._password if self._password is not None else os.environ.get(s.password_env)
        if not password:
            raise ConfigError(f"sources.{s.name}.password_env: {s.password_env} is not set")
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        lost = self._lost

        def on_lost(exc: Exception | None) -> None:
            if not lost.done():
                lost.set_result(None)

        ctx = None
        if s.tls == "ssl":
            ctx = self._ssl_context or ssl.create_default_context()
        try:
            # timeout=None: every call is bounded by _call already; aioimaplib's own
            # timeout re-arms a loop timer for each response line (15 % of the client's
            # CPU on a backlog's FETCH responses)
            self._client = FastIMAP4(
                host=s.host, port=s.port, timeout=None, conn_lost_cb=on_lost, ssl_context=ctx,
            )  # fmt: skip
            await self._call(self._client.wait_hello_from_server(), "connect")
            if s.tls == "starttls":
                await self._starttls()
            resp = await self._call(self._client.login(s.username, password), "login")
            if resp.result != "OK":
                await self._drop()
                raise SourceLoginFailed(f"{s.name}: {_text(resp.lines)}")
            await self._call(self._client.protocol.capability(), "capability")
            self._delimiter = wire.parse_delimiter(
                (await self._ok(self._client.list('""', '""'), "list")).lines
            )
            for folder in (s.processed_mailbox, s.review_mailbox):
                await self._ensure_folder(self._server(folder))
            await self._select(resume=resume)
        except SourceUnavailable:
            await self._drop()
            raise
        self.backoff.reset()
        self._log.info(
            "source.connected",
            host=s.host,
            port=s.port,
            tls=s.tls,
            username=mask(s.username),
            uidvalidity=self._uidvalidity,
            resume_after_uid=self._watermark,
            move=self.uses_move,
            idle=self._has("IDLE"),
        )

    async def reconnect(self, attempts: int | None = None) -> None:
        tries = 0
        while True:
            try:
                await self.connect()
                return
            except SourceUnavailable as exc:
                tries += 1
                if attempts is not None and tries >= attempts:
                    raise
                delay = self.backoff.next_delay()
                self._log.warning(
                    "source.reconnect", attempt=tries, delay_s=round(delay, 2), error=str(exc)
                )
                await asyncio.sleep(delay)

    async def close(self) -> None:
        if self._client is not None and not self._resume_pending:
            self._save(force=True)
        await self._drop(logout=True)

    def rewind(self) -> None:
        self._cursor = self._watermark
        self._queue.clear()
        self._outstanding.clear()

    # -- fetching ------------------------------------------------------------------
    async def fetch(self, limit: int) -> list[RawItem]:
        if self._client is None:
            await self.connect()
        self._ensure_resumed()
        items: list[RawItem] = []
        while len(items) < limit:
            if not self._queue and not await self._refill():
                break
            take = min(self.settings.batch_size, limit - len(items), len(self._queue))
            chunk = [self._queue.popleft() for _ in range(take)]
            got = await self._fetch_chunk(chunk)
            self._cursor = max(self._cursor, *chunk)
            self._outstanding.update(int(i.key.rsplit(":", 1)[1]) for i in got)
            if not self._outstanding:  # vanished UIDs need no settling
                self._watermark = self._cursor
            items.extend(got)
        if items:
            self._log.debug("source.fetched", count=len(items), last_uid=self._cursor)
        return items

    async def _refill(self) -> bool:
        first = self._cursor + 1
        resp = await self._ok(self._client.uid_search("UID", f"{first}:*", charset=None), "search")
        # "N:*" always matches the highest UID, even one below N: filter it out
        self._queue.extend(u for u in sorted(wire.parse_search(resp.lines)) if u >= first)
        return bool(self._queue)

    async def _fetch_chunk(self, uids: list[int]) -> list[RawItem]:
        """One FETCH for the chunk: size, INTERNALDATE and the first ``_PEEK_BYTES`` of
        each body, as a bare fetch costs. The rare message longer than that is asked for
        again: whole when under ``max_message_bytes``, else its header block only (and
        ``too_large``), so a 200 MB message is never loaded and a chunk never holds more
        than ``len(uids) * _PEEK_BYTES`` bytes of bodies."""
        peek = min(_PEEK_BYTES, self.max_message_bytes)
        first = await self._fetch_parts(uids, f"RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.{peek}>")
        longer = {u for u, d in first.items() if d.size is not None and d.size > peek}
        whole = sorted(u for u in longer if (first[u].size or 0) <= self.max_message_bytes)
        large = longer.difference(whole)
        rest: dict[int, wire.FetchData] = {}
        for group in _by_bytes(whole, first, _MAX_BATCH_BYTES):
            rest.update(await self._fetch_parts(group, "BODY.PEEK[]"))
        if large:
            rest.update(await self._fetch_parts(sorted(large), "BODY.PEEK[HEADER]"))
        items = []
        for uid in uids:
            m = first.get(uid)
            b = rest.get(uid) if uid in longer else m
            if m is None or b is None or b.literal is None:
                continue  # moved or expunged by someone else since the SEARCH
            too_large = uid in large
            if too_large:
                self._log.warning("source.too_large", uid=uid, size=m.size)
            items.append(
                RawItem(
                    source=self.name,
                    key=f"{self._uidvalidity}:{uid}",
                    raw=b.literal,
                    received_at=m.internaldate or self._no_date(uid),
                    size=m.size if m.size is not None else len(b.literal),
                    too_large=too_large,
                )
            )
        return items

    async def _fetch_parts(self, uids: list[int], part: str) -> dict[int, wire.FetchData]:
        resp = await self._ok(
            self._client.uid("fetch", wire.uid_set(uids), f"(UID {part})"), "fetch"
        )
        return wire.parse_fetch(resp.lines)

    def _no_date(self, uid: int) -> datetime:
        self._log.warning("source.no_internaldate", uid=uid)
        return datetime.now(UTC)

    # -- settling ------------------------------------------------------------------
    async def settle(self, item: RawItem, disposition: Disposition) -> None:
        await self.settle_many([(item, disposition)])

    async def settle_many(self, items: Sequence[tuple[RawItem, Disposition]]) -> None:
        """Move committed items with one ``UID MOVE <set>`` per target folder.

        Without MOVE: one ``UID COPY`` + ``UID STORE +FLAGS.SILENT (\\Deleted)`` +
        ``UID EXPUNGE`` per folder. Very long sets are split (``_MAX_COMMAND_CHARS``,
        ``_MAX_SET_MESSAGES``). UIDs already gone are no error. The watermark and the
        checkpoint are updated once for the batch, from what was actually moved.
        """
        if not items:
            return
        if self._client is None:
            await self.connect()
        self._ensure_resumed()
        s = self.settings
        by_folder: dict[str, list[int]] = {}
        for item, disposition in items:
            validity, _, uid_text = item.key.partition(":")
            if int(validity) != self._uidvalidity:
                # The UID means nothing any more; the message is handed out again under
                # its new key and settled then.
                self._log.warning("source.stale_key", key=item.key, uidvalidity=self._uidvalidity)
                continue
            folder = (
                s.processed_mailbox if disposition == Disposition.PROCESSED else s.review_mailbox
            )
            by_folder.setdefault(folder, []).append(int(uid_text))
        moved = 0
        try:
            for folder, uids in by_folder.items():
                target = wire.quote_mailbox(self._server(folder))
                budget = _MAX_COMMAND_CHARS - len(target) - 64
                for uid_set in wire.uid_sets(uids, budget, _MAX_SET_MESSAGES):
                    await self._move(uid_set, target)
                    done = wire.uids_in(uid_set)
                    self._outstanding.difference_update(done)
                    moved += len(done)
        finally:
            if moved:
                self._watermark = min(self._outstanding) - 1 if self._outstanding else self._cursor
                self._since_save += moved
                await self._save_off_loop()
        self._log.debug(
            "source.settled",
            count=moved,
            folders=len(by_folder),
            first_key=items[0][0].key,
            last_key=items[-1][0].key,
        )

    async def _move(self, uid_set: str, target: str) -> None:
        """Move one UID set (MOVE, or COPY + \\Deleted + EXPUNGE); idempotent."""
        if self.uses_move:
            await self._uid_command("move", uid_set, target)
            return
        await self._uid_command("copy", uid_set, target)
        await self._uid_command("store", uid_set, "+FLAGS.SILENT (\\Deleted)")
        if self._has("UIDPLUS"):
            await self._uid_command("expunge", uid_set)
        else:  # plain EXPUNGE: also removes other \Deleted mail, as any client would
            await self._ok(self._client.expunge(), "expunge")

    async def _uid_command(self, command: str, uid_set: str, *args: str) -> None:
        """``UID <command> <set> ...``, tolerating UIDs that are already gone.

        UIDs that no longer exist are ignored by a UID command ("No messages found"),
        but when another client moved some of them and this session has not been told
        yet, Dovecot refuses the whole command (``NO [EXPUNGEISSUED]``, nothing done).
        Then the set is narrowed to what is still there and the command sent once more.
        """
        resp = await self._call(self._client.uid(command, uid_set, *args), command)
        if resp.result == "OK":
            return
        found = await self._ok(self._client.uid_search("UID", uid_set, charset=None), "search")
        left = wire.parse_search(found.lines)
        if not left:
            return
        self._log.info(
            "source.settle_narrowed", step=command, asked=uid_set, left=len(left),
            reason=_text(resp.lines),
        )  # fmt: skip
        budget = _MAX_COMMAND_CHARS - len(" ".join(args)) - 64  # holes can lengthen a set
        for narrowed in wire.uid_sets(left, budget):
            await self._ok(self._client.uid(command, narrowed, *args), command)

    # -- waiting for mail ----------------------------------------------------------
    async def wait_for_new(self, timeout: float) -> bool:
        if self._client is None:
            await self.connect()
        if self._queue or await self._refill():
            return True
        if self.settings.idle and self._has("IDLE"):
            return await self._idle(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            await asyncio.sleep(min(self.poll_seconds, remaining))
            if await self._refill():
                return True
        return False

    async def _idle(self, timeout: float) -> bool:
        client, lost = self._client, self._lost
        assert lost is not None
        idle_task = await self._call(client.idle_start(timeout=timeout + 60), "idle")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while (remaining := deadline - loop.time()) > 0:
                push = asyncio.ensure_future(client.protocol.idle_queue.get())
                done, _ = await asyncio.wait(
                    {push, lost}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if push not in done:
                    push.cancel()
                    if lost in done:
                        await self._drop()
                        raise SourceUnavailable(f"{self.name}: connection lost during IDLE")
                    return False
                lines = push.result()
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    return False
                if wire.has_exists(lines):
                    return True
            return False
        finally:
            if self._client is client and client.has_pending_idle():
                client.idle_done()
                await self._call(idle_task, "idle done")

    # -- plumbing ------------------------------------------------------------------
    async def _call(self, aw: Awaitable[T], what: str, timeout: float | None = None) -> T:
        """Await one server call, bounded by a timeout and by the connection dropping."""
        lost = self._lost
        task = asyncio.ensure_future(aw)
        waiters: set[asyncio.Future[Any]] = {task} if lost is None else {task, lost}
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=timeout or self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done:
            try:
                return task.result()
            except (aioimaplib.AioImapException, OSError, TimeoutError, EOFError) as exc:
                await self._drop()
                raise self._unavailable(what, exc) from exc
        task.cancel()
        await self._drop()
        reason = "connection lost" if lost is not None and lost.done() else "timed out"
        raise self._unavailable(what, reason)

    async def _ok(self, aw: Awaitable[Any], what: str) -> Any:
        resp = await self._call(aw, what)
        if resp.result != "OK":
            raise SourceUnavailable(f"{self.name}: {what} refused: {_text(resp.lines)}")
        return resp

    def _unavailable(self, what: str, why: object) -> SourceUnavailable:
        s = self.settings
        err = SourceUnavailable(f"{s.name} ({s.host}:{s.port}): {what}: {why}")
        self._log.warning("source.unavailable", step=what, error=str(why) or type(why).__name__)
        return err

    async def _drop(self, logout: bool = False) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if logout and (self._lost is None or not self._lost.done()):
            with contextlib.suppress(aioimaplib.AioImapException, OSError, TimeoutError):
                await asyncio.wait_for(client.logout(), 2)
        transport = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()

    async def _starttls(self) -> None:
        proto = self._client.protocol
        if "STARTTLS" not in proto.capabilities:
            raise SourceUnavailable(f"{self.name}: server does not offer STARTTLS")
        cmd = aioimaplib.Command("STARTTLS", proto.new_tag(), loop=proto.loop)
        resp = await self._call(proto.execute(cmd), "starttls")
        if resp.result != "OK":
            raise SourceUnavailable(f"{self.name}: STARTTLS refused: {_text(resp.lines)}")
        ctx = self._ssl_context or ssl.create_default_context()
        loop = asyncio.get_running_loop()
        proto.transport = await self._call(
            loop.start_tls(proto.transport, proto, ctx, server_hostname=self.settings.host),
            "tls handshake",
        )
        await self._call(proto.capability(), "capability")  # may differ after TLS

    async def _ensure_folder(self, name: str) -> None:
        quoted = wire.quote_mailbox(name)
        resp = await self._call(self._client.create(quoted), "create")
        text = _text(resp.lines).upper()
        if resp.result == "OK":
            self._log.info("source.folder_created", folder=name)
            await self._call(self._client.subscribe(quoted), "subscribe")
        elif "ALREADYEXISTS" not in text and "EXISTS" not in text:
            raise SourceUnavailable(f"{self.name}: cannot create {name!r}: {_text(resp.lines)}")

    async def _select(self, *, resume: bool = True) -> None:
        s = self.settings
        resp = await self._ok(
            self._client.select(wire.quote_mailbox(self._server(s.mailbox))), "select"
        )
        validity = wire.parse_uidvalidity(resp.lines)
        if validity is None:
            raise SourceUnavailable(f"{s.name}: SELECT {s.mailbox} gave no UIDVALIDITY")
        self._uidvalidity = validity
        self._watermark = self._saved = 0
        self.rewind()
        self._resume_pending = True
        if resume:
            self.resume()

    def resume(self) -> None:
        """Take up the checkpoint of the selected mailbox (a database read).

        After a plain connect this is the start: the fetch goes on after the watermark.
        After a head start (``connect(resume=False)`` and fetches from the mailbox's
        first UID), what was handed out stays handed out: the watermark read here is
        lowered below the first item still outstanding, so a crash before those are
        settled never skips them, and the fetch goes on from where it was.
        """
        s = self.settings
        key = self._checkpoint_key
        saved = self.checkpoint.get(s.name, key)
        old_validity, _, old_uid = (saved or "").partition(":")
        if saved and old_validity == str(self._uidvalidity) and old_uid.isdigit():
            watermark = int(old_uid)
        else:
            if saved:
                self._log.warning(
                    "source.uidvalidity_changed",
                    old=old_validity,
                    new=self._uidvalidity,
                    mailbox=s.mailbox,
                )
            watermark = 0
            self.checkpoint.set(s.name, key, f"{self._uidvalidity}:0")
        if self._outstanding:
            watermark = min(watermark, min(self._outstanding) - 1)
        self._watermark = self._saved = watermark
        if self._cursor < watermark:  # nothing fetched yet (a plain connect)
            self.rewind()
        self._resume_pending = False

    def _ensure_resumed(self) -> None:
        if self._resume_pending and getattr(self.checkpoint, "ready", True):
            self.resume()

    @property
    def _checkpoint_key(self) -> str:
        return f"uid:{self.settings.mailbox}"

    def _save(self, force: bool = False) -> None:
        if (due := self._due_save(force)) is not None:
            self.checkpoint.set(self.name, self._checkpoint_key, due[1])
            self._saved, self._since_save = due[0], 0

    async def _save_off_loop(self) -> None:
        """:meth:`_save`, with the write in a thread: it waits for the database's write
        lock, which the commit of the next batch may hold for ~0.1 s; on the event loop
        that wait stalled fetching and hand-offs (0.77 s of a 10,000-message pass)."""
        if (due := self._due_save()) is not None:
            await asyncio.to_thread(self.checkpoint.set, self.name, self._checkpoint_key, due[1])
            self._saved, self._since_save = due[0], 0

    def _due_save(self, force: bool = False) -> tuple[int, str] | None:
        """(watermark, bookmark) when a checkpoint write is due, else None."""
        if self._watermark <= self._saved:
            return None
        if not force and self._since_save < _CHECKPOINT_EVERY:
            return None
        return self._watermark, f"{self._uidvalidity}:{self._watermark}"

    def _server(self, name: str) -> str:
        return wire.server_name(name, self._delimiter)

    def _has(self, capability: str) -> bool:
        return self._client is not None and bool(self._client.has_capability(capability))


def _by_bytes(uids: list[int], meta: dict[int, wire.FetchData], budget: int) -> list[list[int]]:
    """Split a batch so one FETCH never asks for more than ``budget`` bytes of bodies."""
    groups: list[list[int]] = []
    current: list[int] = []
    total = 0
    for uid in uids:
        size = meta[uid].size or 0
        if current and total + size > budget:
            groups.append(current)
            current, total = [], 0
        current.append(uid)
        total += size
    if current:
        groups.append(current)
    return groups


def _text(lines: Sequence[bytes | bytearray]) -> str:
    last = lines[-1] if lines else b""
    return bytes(last).decode("utf-8", "replace")[:200]
