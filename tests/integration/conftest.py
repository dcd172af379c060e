"""Fixtures for the intake adapters against a real Dovecot on a loopback port.

One Dovecot per session serves every test, each test with its own account (so its own
Maildir, UIDVALIDITY and folders); the outage tests get a dedicated server they may stop
and restart on the same port. Without Dovecot the tests skip locally and FAIL under CI.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing
from tests.integration.dovecot import Dovecot, DovecotUnavailable
from worker.config import ImapSource
from worker.sources.base import RawItem
from worker.sources.imap import ImapMailSource


class InMemoryCheckpoint:
    """TEST ONLY: the :class:`worker.sources.base.Checkpoint` contract over a dict.

    The service backs the real one with its ``source_state`` table; sharing one instance
    between two source objects is how a test simulates a process restart.
    """

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.writes = 0

    def get(self, source: str, key: str) -> str | None:
        return self.values.get((source, key))

    def set(self, source: str, key: str, value: str) -> None:
        self.values[(source, key)] = value
        self.writes += 1


def _start(separator: str) -> Iterator[Dovecot]:
    # Not under pytest's tmp_path: Dovecot's own users must be able to reach the files,
    # and pytest's base directory is private to root.
    root = Path(tempfile.mkdtemp(prefix="optout-dovecot-"))
    server = Dovecot(root, separator=separator)
    try:
        server.start()
    except DovecotUnavailable as exc:
        shutil.rmtree(root, ignore_errors=True)
        service_missing(str(exc))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    """The shared server (Maildir++ layout: hierarchy separator ``.``)."""
    yield from _start(".")


@pytest.fixture(scope="session")
def dovecot_fs_server() -> Iterator[Dovecot]:
    """A second server whose hierarchy separator is ``/`` (``LAYOUT=fs``)."""
    yield from _start("/")


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """A fresh, empty account on the shared server."""
    return dovecot_server.account(f"u{uuid.uuid4().hex[:10]}")


@pytest.fixture
def restartable_dovecot() -> Iterator[Dovecot]:
    """A server of this test's own, which the test may stop and restart (same port)."""
    yield from _start(".")


@pytest.fixture
def checkpoint() -> InMemoryCheckpoint:
    return InMemoryCheckpoint()


def imap_settings(server: Dovecot, **overrides: object) -> ImapSource:
    values: dict[str, object] = {
        "name": "inbox",
        "kind": "imap",
        "host": "127.0.0.1",
        "port": server.port,
        "tls": "none",
        "username": server.user,
        "password_env": "OPTOUT_TEST_IMAP_PASSWORD",
        "mailbox": "INBOX",
        "processed_mailbox": "optout/processed",
        "review_mailbox": "optout/review",
        "batch_size": 50,
    }
    values.update(overrides)
    return ImapSource.model_validate(values)


SourceFactory = Callable[..., ImapMailSource]


@pytest.fixture
async def make_source(
    dovecot: Dovecot, checkpoint: InMemoryCheckpoint
) -> AsyncIterator[SourceFactory]:
    """Build sources on this test's account; every one is closed at the end."""
    made: list[ImapMailSource] = []

    def make(server: Dovecot | None = None, **kw: Any) -> ImapMailSource:
        server = server or dovecot
        settings = imap_settings(server, **kw.pop("settings", {}))
        kw.setdefault("password", server.password)
        kw.setdefault("timeout", 5.0)
        src = ImapMailSource(settings, kw.pop("checkpoint", checkpoint), **kw)
        made.append(src)
        return src

    yield make
    for src in made:
        await src.close()


def uid_of(item: RawItem) -> int:
    return int(item.key.split(":")[1])
