"""Intake adapters: turn a mailbox into raw items and move them once committed.

``open_source`` builds the adapter for one ``[[sources]]`` entry; the contract every
adapter keeps is in :mod:`worker.sources.base`.
"""

from __future__ import annotations

from worker.config import ImapSource, MaildirSource
from worker.sources.base import (
    Backoff,
    Checkpoint,
    Disposition,
    RawItem,
    Source,
    SourceLoginFailed,
    SourceUnavailable,
)
from worker.sources.imap import ImapMailSource
from worker.sources.maildir import MaildirMailSource

__all__ = [
    "Backoff",
    "Checkpoint",
    "Disposition",
    "ImapMailSource",
    "MaildirMailSource",
    "RawItem",
    "Source",
    "SourceLoginFailed",
    "SourceUnavailable",
    "open_source",
]


def open_source(settings: ImapSource | MaildirSource, checkpoint: Checkpoint) -> Source:
    """The adapter for one configured mailbox (not yet connected)."""
    if isinstance(settings, ImapSource):
        return ImapMailSource(settings, checkpoint)
    return MaildirMailSource(settings)
