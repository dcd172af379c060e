"""How a received message's bytes are kept in ``inbound_items.raw``.

Every message taken in is stored whole, as evidence (rule 9) and so that a failed item
can be replayed, until the retention job drops it. Replies, bounces and reports are
text and halve or better under LZ4: a 10,000-reply backlog like the corpus stored 32 MB
of messages as 15 MB. On SQLite the stored bytes are most of the database, and each of
them is written twice (the WAL, then the checkpoint into the file): LZ4 costs about
2 µs a message, where storing the saved pages cost more (`optout poll` of that backlog
about 2 % faster, paired runs). PostgreSQL compressed the column itself, on the server
(migration 0005); since 0007 the server stores it as it comes.

The format is the LZ4 *frame* format (``lz4 -d`` reads it) with the content size in its
header; ``raw_codec`` says which form a row holds: ``lz4``, or NULL for the bytes as
received (rows stored before, and messages that LZ4 would not make smaller, such as a
few dozen bytes or an already compressed attachment). ``raw_sha256`` is always the
digest of the bytes as received, so :func:`unpack` can prove what it gives back.
"""

from __future__ import annotations

import hashlib

import lz4.frame

from worker.errors import OptoutError

#: ``raw_codec`` of a row whose ``raw`` is an LZ4 frame
LZ4 = "lz4"


class StoredMessageUnreadable(OptoutError):
    """the stored message cannot be read back"""


def pack(raw: bytes) -> tuple[bytes, str | None]:
    """``raw`` as it is to be stored, and its ``raw_codec``."""
    packed: bytes = lz4.frame.compress(raw, store_size=True)
    if len(packed) < len(raw):
        return packed, LZ4
    return raw, None


def unpack(stored: bytes, codec: str | None, sha256: str | None = None) -> bytes:
    """The bytes as received, from a row's ``raw`` and ``raw_codec``; checked against
    ``sha256`` (the row's ``raw_sha256``) when given."""
    if codec is None:
        raw = stored
    elif codec == LZ4:
        try:
            raw = lz4.frame.decompress(stored)
        except RuntimeError as exc:  # what python-lz4 raises for a damaged frame
            raise StoredMessageUnreadable(f"damaged LZ4 frame ({exc})") from None
    else:
        raise StoredMessageUnreadable(f"unknown raw_codec {codec!r}")
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise StoredMessageUnreadable("its bytes do not match the stored SHA-256")
    return raw
