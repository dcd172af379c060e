"""Unsubscribe tokens: who opted out of what, sealed so only we can read or make one.

A token travels in every promotional email (the List-Unsubscribe URL and mailto) and comes
back with a click, a one-click POST or a reply. It must name the address and the scope
without a database lookup (minting happens in the marketing system's send path, a million
times a day), must not show the address to anyone who sees the URL (link scanners, proxies,
forwarded mail), and must not be forgeable or editable: a changed token that still verified
would unsubscribe someone else, or the wrong topic.

Format (version 1), all of it then base64url (URL form) or lower-case base32 (mailto form),
both without padding::

    header  = byte (version << 4 | len(key_id)) ‖ key_id (1-15 ASCII bytes)
    token   = header ‖ AES-SIV(key, plaintext, associated_data=[header])
    plaintext = minted_at (uint32, big-endian, Unix seconds)
                ‖ len(scope) (1 byte; 0 means "all") ‖ scope ‖ address (UTF-8, the rest)

Why AES-SIV (RFC 5297, AES-256 in both halves, key from HKDF-SHA256 of the configured
secret): it is an authenticated encryption whose 128-bit synthetic IV is also the
authentication tag, so a token carries 16 bytes of overhead where AES-GCM, AES-GCM-SIV or
ChaCha20-Poly1305 carry 28 (a 12-byte nonce plus a 16-byte tag). Authenticity is not
weakened: forging or altering a token is as hard as forging a full 128-bit tag. SIV is
deterministic — the same key, header and plaintext give the same token — which here
reveals only that two tokens are equal, and equal tokens name the same address, scope and
minting second anyway. The header (version and key id) is authenticated as associated
data, so it cannot be changed either; the key id is readable on purpose, because it picks
the verifying key after a rotation.

Keys rotate: the ring is ``"id:secret,id:secret"``; the first key mints, every key
verifies, so a token stays valid for as long as its key stays in the ring (CAN-SPAM wants
at least 30 days after sending; by default tokens never expire, ``max_age`` is optional).

Measured for a 20-character address: 59 characters in the URL form for scope ``all`` and
72 for a 10-character category; the mailto form is 71 and 87 (see :meth:`KeyRing.mint_mailto`).

No clock is read here: minting and expiry take ``now`` in Unix seconds from the caller.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from worker.core.addresses import normalise
from worker.core.categories import ALL_PROMOTIONAL, NAME_RE, RESERVED_NAMES
from worker.errors import ConfigError, UserError

VERSION = 1
#: shortest secret accepted in the key ring; secrets should be random, not passwords,
#: because HKDF stretches nothing (e.g. ``python -c 'import secrets;
#: print(secrets.token_urlsafe(32))'``)
MIN_SECRET_LENGTH = 16
#: key ids are written into every token, so they are kept short; the length fits in the
#: low nibble of the first byte
MAX_KEY_ID_LENGTH = 15
#: CAN-SPAM (15 U.S.C. 7704(a)(3)) wants an opt-out link to work for at least 30 days
#: after the message is sent; a configured ``max_age`` below this is a legal risk, and the
#: configuration layer should refuse it
MIN_LAWFUL_MAX_AGE = 30 * 24 * 3600
#: minting times are stored as unsigned 32-bit seconds (good until 2106)
_MAX_TIME = 2**32 - 1
#: longest encoded token accepted before any decoding: a 320-character address of 4-byte
#: UTF-8 characters in base32 stays below it, and nothing larger is worth decoding
MAX_TOKEN_CHARS = 4096

_KEY_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,15}$")
_URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_MAILTO_RE = re.compile(r"^[a-z2-7]+$")
_TAG_LENGTH = 16
_TIME = struct.Struct(">I")
_HKDF_SALT = b"optout/unsubscribe-token"
_HKDF_INFO = b"optout token v1 AES-SIV-512"


class InvalidToken(UserError):
    """invalid or unknown unsubscribe link"""

    # The message is deliberately the same for a forged, truncated, mistyped or
    # retired-key token: telling them apart would help only someone probing the keys.


class ExpiredToken(InvalidToken):
    """this unsubscribe link has expired"""


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says: who, for which scope, under which key, since when.

    ``token_id`` is a short fingerprint of the token's bytes, the same for its URL and
    mailto forms; it goes into the audit trail as evidence and serves as an idempotency key
    without storing the token itself.
    """

    address: str
    scope: str
    key_id: str
    minted_at: int
    token_id: str

    def age(self, now: int) -> int:
        """Seconds since the token was minted (never negative across clock skew)."""
        return max(0, now - self.minted_at)


@dataclass(frozen=True)
class _Key:
    key_id: str
    header: bytes
    cipher: AESSIV

    def __repr__(self) -> str:  # never show key material
        return f"_Key({self.key_id!r})"


class KeyRing:
    """The configured token keys: the first mints, every one verifies."""

    def __init__(self, keys: Sequence[tuple[str, str]], *, source: str = "token keys") -> None:
        """Build from ``(key_id, secret)`` pairs; :meth:`parse` is the usual way in.

        Raises :class:`ConfigError` for anything :meth:`parse` would refuse, so a ring
        built in code is held to the same rules as one read from the environment.
        """
        if not keys:
            raise ConfigError(f"{source}: no keys configured")
        self._keys: dict[str, _Key] = {}
        for number, (key_id, secret) in enumerate(keys, start=1):
            _check_key(number, key_id, secret, source)
            if key_id in self._keys:
                raise ConfigError(f"{source}: key id {key_id!r} appears twice")
            self._keys[key_id] = _Key(key_id, _header(key_id), AESSIV(_derive(secret)))
        self._minting = self._keys[keys[0][0]]

    @classmethod
    def parse(cls, spec: str, *, source: str = "token keys") -> KeyRing:
        """Parse ``"id:secret,id:secret"``; ``source`` names the setting in errors.

        Whitespace around entries is ignored, so ``"new:…, old:…"`` works; a secret may
        contain ``:`` but not ``,``. Errors name the entry and key id, never the secret.
        """
        entries = spec.split(",")
        if not spec.strip():
            raise ConfigError(
                f"{source}: no keys; expected 'id:secret,id:secret' (the first mints, all verify)"
            )
        pairs: list[tuple[str, str]] = []
        for number, entry in enumerate(entries, start=1):
            text = entry.strip()
            if not text:
                raise ConfigError(f"{source}: entry {number} is empty (stray comma?)")
            key_id, colon, secret = text.partition(":")
            if not colon:
                raise ConfigError(f"{source}: entry {number} is not in the form 'id:secret'")
            key_id, secret = key_id.strip(), secret.strip()
            pairs.append((key_id, secret))
        return cls(pairs, source=source)

    @property
    def minting_key_id(self) -> str:
        return self._minting.key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id, the minting one first."""
        return tuple(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={list(self._keys)!r})"

    # -- minting ---------------------------------------------------------------------

    def seal(self, address: str, scope: str, now: int) -> bytes:
        """The raw token bytes; :meth:`mint` and :meth:`mint_mailto` encode them.

        A caller that wants both forms seals once and applies :func:`encode_url` and
        :func:`encode_mailto`; both then verify to the same claims and ``token_id``.

        ``address`` is normalised first, so every spelling of one mailbox gets the same
        claims. ``scope`` is ``"all"`` (every promotional category) or a category name;
        whether that category exists and is promotional is the caller's check
        (:meth:`worker.core.categories.Categories.opt_out_scope`), since the token module
        does not know the configuration.
        """
        if not 0 <= now <= _MAX_TIME:
            raise ValueError(f"minting time {now} is outside 0..{_MAX_TIME}")
        canonical = normalise(address)
        scope_bytes = _scope_bytes(scope)
        plaintext = (
            _TIME.pack(now) + bytes([len(scope_bytes)]) + scope_bytes + canonical.encode("utf-8")
        )
        key = self._minting
        return key.header + key.cipher.encrypt(plaintext, [key.header])

    def mint(self, address: str, scope: str, now: int) -> str:
        """The URL form: base64url without padding, for ``{public_url}/u/{token}``."""
        return encode_url(self.seal(address, scope, now))

    def mint_mailto(self, address: str, scope: str, now: int) -> str:
        """The mailto form: lower-case base32, for ``unsubscribe+{token}@domain``.

        Mail systems may change the case of a local part, so the encoding has one case.
        Honest limit: with the address sealed inside, a 20-character address gives 71
        characters (scope ``all``) to 87 (scope ``newsletter``), so ``unsubscribe+TOKEN``
        is 83-99 octets, over RFC 5321's 64-octet local-part limit — any sealed token is,
        since address plus tag alone is 36 bytes (58 base32 characters). RFC
        5321 also asks servers not to enforce such limits where they can avoid it, and the
        receiving MTA is ours, but a strict sending server may refuse the reply; the
        HTTPS one-click URL is the form that must always work.
        """
        return encode_mailto(self.seal(address, scope, now))

    # -- verifying -------------------------------------------------------------------

    def unseal(self, raw: bytes, now: int | None = None, max_age: int | None = None) -> TokenClaims:
        """Authenticate and decrypt raw token bytes; raise :class:`InvalidToken` if not ours.

        With ``max_age`` (seconds) a token older than that raises :class:`ExpiredToken`;
        ``now`` is then required.
        """
        if max_age is not None and now is None:
            raise ValueError("max_age needs now")
        if len(raw) < 2:
            raise InvalidToken()
        version, id_length = raw[0] >> 4, raw[0] & 0x0F
        if version != VERSION or id_length == 0:
            raise InvalidToken()
        header_end = 1 + id_length
        try:
            key_id = raw[1:header_end].decode("ascii")
        except UnicodeDecodeError:
            raise InvalidToken() from None
        key = self._keys.get(key_id)
        if key is None or len(raw) < header_end + _TAG_LENGTH + _TIME.size + 1:
            raise InvalidToken()
        try:
            plaintext = key.cipher.decrypt(raw[header_end:], [raw[:header_end]])
        except InvalidTag:
            raise InvalidToken() from None
        claims = _claims(plaintext, key_id, raw)
        if max_age is not None and now is not None and now - claims.minted_at > max_age:
            raise ExpiredToken()
        return claims

    def verify(self, token: str, now: int | None = None, max_age: int | None = None) -> TokenClaims:
        """Verify the URL form (base64url). Any changed character is rejected."""
        return self.unseal(decode_url(token), now, max_age)

    def verify_mailto(
        self, token: str, now: int | None = None, max_age: int | None = None
    ) -> TokenClaims:
        """Verify the mailto form in either case (a relay may have upper-cased it)."""
        return self.unseal(decode_mailto(token), now, max_age)


# -- encodings: strict, so that each token has exactly one spelling -----------------------


def encode_url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_url(token: str) -> bytes:
    """Decode base64url without padding, refusing every non-canonical spelling.

    The standard decoder accepts ``+``/``/`` beside ``-``/``_`` and ignores the unused low
    bits of the last character, so two different strings can decode to the same bytes; a
    "changed" token would then still verify. Re-encoding and comparing closes that.
    """
    if len(token) > MAX_TOKEN_CHARS or not _URL_RE.fullmatch(token):
        raise InvalidToken()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken() from None
    if encode_url(raw) != token:
        raise InvalidToken()
    return raw


def encode_mailto(raw: bytes) -> str:
    return base64.b32encode(raw).rstrip(b"=").decode("ascii").lower()


def decode_mailto(token: str) -> bytes:
    """Decode lower- or upper-case base32 without padding, canonical spellings only."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken()
    lowered = token.lower()
    if not _MAILTO_RE.fullmatch(lowered):
        raise InvalidToken()
    try:
        raw = base64.b32decode(lowered.upper() + "=" * (-len(lowered) % 8))
    except (binascii.Error, ValueError):
        raise InvalidToken() from None
    if encode_mailto(raw) != lowered:
        raise InvalidToken()
    return raw


def mailto_token_from_local_part(local_part: str, prefix: str = "unsubscribe") -> str | None:
    """``unsubscribe+TOKEN`` (any case) → ``TOKEN``; ``None`` if there is no token."""
    head, plus, token = local_part.partition("+")
    if not plus or head.lower() != prefix.lower() or not token:
        return None
    return token


# -- helpers ----------------------------------------------------------------------------


def _check_key(number: int, key_id: str, secret: str, source: str) -> None:
    if not _KEY_ID_RE.fullmatch(key_id):
        if not key_id:
            problem = "has an empty key id"
        elif len(key_id) > MAX_KEY_ID_LENGTH:
            # not echoed: an over-long "id" is more likely a secret missing its id
            problem = f"has a key id of {len(key_id)} characters; at most {MAX_KEY_ID_LENGTH}"
        else:
            problem = f"key id {key_id!r} may use only A-Z a-z 0-9 . _ -"
        raise ConfigError(f"{source}: entry {number} {problem}")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{source}: entry {number} (key id {key_id!r}): secret is {len(secret)} "
            f"characters; at least {MIN_SECRET_LENGTH} random characters are needed"
        )


def _header(key_id: str) -> bytes:
    encoded = key_id.encode("ascii")
    return bytes([VERSION << 4 | len(encoded)]) + encoded


def _derive(secret: str) -> bytes:
    """64 bytes for AES-256-SIV (a MAC half and a CTR half) from the configured secret."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=64, salt=_HKDF_SALT, info=_HKDF_INFO)
    return hkdf.derive(secret.encode("utf-8"))


def _scope_bytes(scope: str) -> bytes:
    """``all`` is written as the empty scope; it is the most common one and saves bytes.

    ``every`` (which reaches transactional mail) is refused: a person's link can only
    opt out of promotional email (DESIGN rule 3).
    """
    if scope == ALL_PROMOTIONAL:
        return b""
    if scope in RESERVED_NAMES or not NAME_RE.fullmatch(scope):
        raise ValueError(f"scope must be {ALL_PROMOTIONAL!r} or a category name, not {scope!r}")
    return scope.encode("ascii")


def _claims(plaintext: bytes, key_id: str, raw: bytes) -> TokenClaims:
    """Unpack an authenticated plaintext; malformed means a bug or a foreign minter."""
    (minted_at,) = _TIME.unpack_from(plaintext)
    scope_length = plaintext[_TIME.size]
    scope_end = _TIME.size + 1 + scope_length
    try:
        scope = plaintext[_TIME.size + 1 : scope_end].decode("ascii") or ALL_PROMOTIONAL
        address = plaintext[scope_end:].decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidToken() from None
    if not address:
        raise InvalidToken()
    token_id = hashlib.sha256(raw).hexdigest()[:16]
    return TokenClaims(address, scope, key_id, minted_at, token_id)
