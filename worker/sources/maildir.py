"""Maildir intake: the embedded default (``var/inbox``), no server needed.

A delivery agent writes each message into ``tmp/`` and renames it into ``new/``, so
every file in ``new/`` is complete. A mail client may have moved some into ``cur/``
(adding ``:2,FLAGS``); they are just as unprocessed, so both are read. Settling renames
the file into the Maildir++ sub-folder ``.processed`` or ``.review`` (created with
``new/cur/tmp`` on first use). A rename within one file system is atomic, so a message
is in exactly one place at every instant, and no checkpoint is needed: the inbox itself
is the list of what is left to do.

The item key is the unique part of the file name (before ``:``), which survives the
``new/`` → ``cur/`` move and flag changes, so the service's idempotency holds even when
a client touched the message between fetch and settle.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

from worker.config import MaildirSource
from worker.sources.base import (
    DEFAULT_MAX_MESSAGE_BYTES,
    Disposition,
    RawItem,
    SourceUnavailable,
)

log = structlog.get_logger("optout.sources.maildir")

_HEADER_LIMIT = 256 * 1024
#: "<seconds>.<M<usec>P<pid>...|<n>_<m>>.<host>" — the Maildir delivery-time convention
_NAME_TIME = re.compile(r"^(\d{9,11})\.(?:[^.]*?M(\d{1,6}))?")


@dataclass(frozen=True)
class _Entry:
    key: str
    path: Path
    received_at: datetime
    size: int


class MaildirMailSource:
    """One configured ``[[sources]]`` entry of kind ``maildir``."""

    def __init__(
        self,
        settings: MaildirSource,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        poll_seconds: float = 1.0,
    ) -> None:
        self.settings = settings
        self.root = Path(settings.path)
        self.max_message_bytes = max_message_bytes
        self.poll_seconds = poll_seconds
        self._handed: dict[str, Path] = {}  # key → where it was when handed out
        self._queue: deque[_Entry] = deque()  # one directory scan serves many fetches
        self._log = log.bind(source=settings.name)

    @property
    def name(self) -> str:
        return self.settings.name

    def folder(self, disposition: Disposition) -> Path:
        """The Maildir++ sub-folder for a disposition (``.processed`` / ``.review``)."""
        s = self.settings
        sub = s.processed_folder if disposition == Disposition.PROCESSED else s.review_folder
        return self.root / ("." + sub.strip("/").replace("/", "."))

    # -- session -------------------------------------------------------------------
    async def connect(self) -> None:
        """Create the inbox layout if missing (the embedded default must just work)."""
        try:
            for folder in (self.root, *(self.folder(d) for d in Disposition)):
                for sub in ("tmp", "new", "cur"):
                    (folder / sub).mkdir(parents=True, exist_ok=True)
            for d in Disposition:
                (self.folder(d) / "maildirfolder").touch(exist_ok=True)
        except OSError as exc:
            raise SourceUnavailable(f"{self.name}: {self.root}: {exc}") from exc
        self.rewind()

    async def reconnect(self, attempts: int | None = None) -> None:
        await self.connect()

    async def close(self) -> None:
        self.rewind()

    def rewind(self) -> None:
        self._handed.clear()
        self._queue.clear()

    # -- fetching ------------------------------------------------------------------
    async def fetch(self, limit: int) -> list[RawItem]:
        items: list[RawItem] = []
        while len(items) < limit:
            if not self._queue:
                self._queue = deque(
                    sorted(
                        (e for e in self._scan() if e.key not in self._handed),
                        key=lambda e: (e.received_at, e.key),
                    )
                )
                if not self._queue:
                    break
            entry = self._queue.popleft()
            if entry.key in self._handed:
                continue
            item = self._read(entry)
            if item is not None:
                self._handed[entry.key] = entry.path
                items.append(item)
        return items

    def _scan(self) -> list[_Entry]:
        found: list[_Entry] = []
        for sub in ("new", "cur"):
            try:
                it = os.scandir(self.root / sub)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise SourceUnavailable(f"{self.name}: {self.root / sub}: {exc}") from exc
            with it:
                for de in it:
                    if de.name.startswith(".") or not de.is_file(follow_symlinks=False):
                        continue
                    try:
                        st = de.stat(follow_symlinks=False)
                    except FileNotFoundError:  # settled or moved by a client meanwhile
                        continue
                    key = de.name.split(":", 1)[0]
                    found.append(
                        _Entry(key, Path(de.path), _delivered(key, st.st_mtime), st.st_size)
                    )
        return found

    def _read(self, entry: _Entry) -> RawItem | None:
        too_large = entry.size > self.max_message_bytes
        try:
            with entry.path.open("rb") as f:
                raw = _header_block(f.read(_HEADER_LIMIT)) if too_large else f.read()
        except FileNotFoundError:  # a client moved it new/ → cur/ since the scan
            moved = self._locate(self.root, entry.key)
            if moved is None:
                return None
            return self._read(_Entry(entry.key, moved, entry.received_at, entry.size))
        except OSError as exc:
            raise SourceUnavailable(f"{self.name}: {entry.path}: {exc}") from exc
        if too_large:
            self._log.warning("source.too_large", key=entry.key, size=entry.size)
        return RawItem(
            source=self.name,
            key=entry.key,
            raw=raw,
            received_at=entry.received_at,
            size=entry.size,
            too_large=too_large,
        )

    # -- settling ------------------------------------------------------------------
    async def settle(self, item: RawItem, disposition: Disposition) -> None:
        """Rename into the folder's ``cur/`` with the Seen flag; idempotent."""
        target = self.folder(disposition)
        known = self._handed.get(item.key)
        here = known if known is not None and known.exists() else self._locate(self.root, item.key)
        if here is None:
            other = next(d for d in Disposition if d != disposition)
            if self._locate(target, item.key) is not None:
                self._handed.pop(item.key, None)
                return  # already settled (a repeat after a crash)
            here = self._locate(self.folder(other), item.key)
            if here is None:
                self._log.warning("source.settle_missing", key=item.key)
                self._handed.pop(item.key, None)
                return
        dest = target / "cur" / _with_seen(here.name)
        try:
            for sub in ("tmp", "new", "cur"):
                (target / sub).mkdir(parents=True, exist_ok=True)
            os.rename(here, dest)
        except FileNotFoundError:
            if self._locate(target, item.key) is None:
                raise SourceUnavailable(
                    f"{self.name}: {item.key} vanished while settling"
                ) from None
        except OSError as exc:
            raise SourceUnavailable(f"{self.name}: cannot move {item.key}: {exc}") from exc
        self._handed.pop(item.key, None)
        self._log.debug("source.settled", key=item.key, disposition=disposition.value)

    async def settle_many(self, items: Sequence[tuple[RawItem, Disposition]]) -> None:
        """One rename per item: already cheap on a local file system (no round trips)."""
        for item, disposition in items:
            await self.settle(item, disposition)

    @staticmethod
    def _locate(folder: Path, key: str) -> Path | None:
        for sub in ("new", "cur"):
            plain = folder / sub / key
            if plain.exists():
                return plain
            try:
                with os.scandir(folder / sub) as it:
                    for de in it:
                        if de.name.startswith(key + ":"):
                            return Path(de.path)
            except FileNotFoundError:
                continue
        return None

    # -- waiting for mail ----------------------------------------------------------
    async def wait_for_new(self, timeout: float) -> bool:
        """Poll ``new/`` (and ``cur/``) cheaply: one stat per directory per tick."""
        if self._queue or any(e.key not in self._handed for e in self._scan()):
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        before = self._stamp()
        while (remaining := deadline - loop.time()) > 0:
            await asyncio.sleep(min(self.poll_seconds, remaining))
            if self._stamp() != before:
                return True
        return False

    def _stamp(self) -> tuple[int, ...]:
        out = []
        for sub in ("new", "cur"):
            try:
                out.append(os.stat(self.root / sub).st_mtime_ns)
            except FileNotFoundError:
                out.append(0)
        return tuple(out)


def _delivered(key: str, mtime: float) -> datetime:
    """Delivery time from the name (the Maildir convention), else the file's mtime.

    The name is set once at delivery; the mtime changes if the file is copied without
    ``-p``, so the name is the better witness of when the message arrived.
    """
    m = _NAME_TIME.match(key)
    if m:
        seconds = int(m.group(1))
        micros = int(m.group(2)) if m.group(2) else 0
        if 946_684_800 <= seconds <= mtime + 86_400:  # after 2000, not in the future
            return datetime.fromtimestamp(seconds + micros / 1e6, UTC)
    return datetime.fromtimestamp(mtime, UTC)


def _header_block(head: bytes) -> bytes:
    """The header of a message too large to load (up to the first blank line)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = head.find(sep)
        if at >= 0:
            return head[: at + len(sep)]
    return head


def _with_seen(name: str) -> str:
    base, sep, info = name.partition(":")
    flags = info[2:] if sep and info.startswith("2,") else ""
    return f"{base}:2,{''.join(sorted(set(flags) | {'S'}))}"
