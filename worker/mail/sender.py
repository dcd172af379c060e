"""Sending through the configured SMTP relay with aiosmtplib, and the outbox retry schedule.

The outbox needs one answer from every attempt: *sent*, *try again later* or *give up*.
So every failure is sorted into one of two errors:

* :class:`TemporarySendError` — a 4xx reply, a refused/reset/timed-out connection, a TLS
  or login failure. The message stays in the outbox and is retried after :func:`backoff`.
  Login, TLS and sender-address failures are configuration problems, not problems of the
  message: once ops fix the settings, the waiting messages go out, so they are retryable.
* :class:`PermanentSendError` — a 5xx reply about this message: its recipient (RCPT) or
  its content (DATA). Retrying cannot help and hammering a relay with known-bad
  recipients harms the sending reputation.

One connection serves a whole batch (``async with sender.session(): …`` or
:meth:`SmtpSender.send_many`): a new connection per message costs a TCP and often a TLS
handshake and halves throughput (NOTES: ~1,200 vs ~570 msg/s).
"""

from __future__ import annotations

import asyncio
import os
import random
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
import structlog

from worker.config import SmtpSettings
from worker.errors import ConfigError, OptoutError

log = structlog.get_logger("optout.mail")

#: first retry delay and the ceiling of the exponential schedule
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)

_CONNECTION_ERRORS = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    TimeoutError,
    ConnectionError,
    ssl.SSLError,
    OSError,
)


class SendError(OptoutError):
    """could not send mail"""

    def __init__(self, detail: str = "", *, code: int | None = None) -> None:
        self.code = code
        super().__init__(detail)


class TemporarySendError(SendError):
    """could not send mail now; will retry"""

    def __init__(
        self, detail: str = "", *, code: int | None = None, connection: bool = False
    ) -> None:
        #: True when the connection itself failed: the next message would fail the same way
        self.connection = connection
        super().__init__(detail, code=code)


class PermanentSendError(SendError):
    """the mail server refused the message"""


def backoff(attempt: int) -> timedelta:
    """Delay before retry number ``attempt`` (0 for the first retry): 1 min × 2^n, ≤ 6 h.

    Deterministic so the schedule can be tested and shown; spread retries with
    :func:`jittered` so that many messages failed by one outage do not return at once.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    # 2^9 minutes already exceeds the cap; stop there instead of building huge numbers
    return min(BACKOFF_BASE * (1 << min(attempt, 9)), BACKOFF_CAP)


def jittered(delay: timedelta, rng: random.Random, spread: float = 0.2) -> timedelta:
    """``delay`` scaled by a random factor in [1 - spread, 1 + spread], from the given ``rng``."""
    if not 0 <= spread < 1:
        raise ValueError("spread must be in [0, 1)")
    return delay * rng.uniform(1 - spread, 1 + spread)


class SmtpSender:
    """Sends messages through the relay in ``[smtp]``; one connection per session.

    ``validate_certs=False`` accepts any certificate and exists for tests against a
    self-signed loopback server; it is deliberately not a configuration key. Sends on one
    sender are serialised, because an SMTP connection carries one transaction at a time.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        validate_certs: bool = True,
        tls_context: ssl.SSLContext | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self._password: str | None = None
        if settings.username:
            password = (os.environ if environ is None else environ).get(settings.password_env)
            if not password:
                raise ConfigError(
                    f"smtp.password_env: {settings.password_env} is not set "
                    "(smtp.username is set, so a password is needed)"
                )
            self._password = password
        self._validate_certs = validate_certs
        self._tls_context = tls_context
        self._client: aiosmtplib.SMTP | None = None
        self._sessions = 0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:  # never show the password
        s = self.settings
        return f"SmtpSender({s.host}:{s.port}, tls={s.tls}, user={s.username!r})"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SmtpSender]:
        """Keep one connection open for every :meth:`send` inside the block.

        The connection is opened lazily by the first send and re-opened after a failure,
        so entering a session never fails by itself; it is closed politely on exit.
        """
        self._sessions += 1
        try:
            yield self
        finally:
            self._sessions -= 1
            if self._sessions == 0:
                await self._close(polite=True)

    async def send(self, msg: EmailMessage) -> None:
        """Send one message, or raise :class:`TemporarySendError`/:class:`PermanentSendError`.

        Recipients and sender come from the message's headers. When some of several
        recipients are refused, the message counts as sent (the others got it; a retry
        would duplicate it) and the refusals are logged.
        """
        async with self._lock:
            try:
                async with asyncio.timeout(self._deadline()):
                    client = await self._connected()
                    refused, _ = await client.send_message(msg)
            except Exception as exc:
                error = classify_failure(exc)
                if isinstance(error, TemporarySendError) and error.connection:
                    # the state of the connection is unknown: drop it, the next send
                    # reconnects (aiosmtplib resets it itself after a refused RCPT/DATA)
                    await self._close(polite=False)
                raise error from exc
            finally:
                if self._sessions == 0:
                    await self._close(polite=True)
        if refused:
            log.warning(
                "smtp_recipients_refused",
                message_id=msg.get("Message-ID"),
                refused={rcpt: resp.code for rcpt, resp in refused.items()},
            )

    async def send_many(
        self, messages: Sequence[EmailMessage]
    ) -> list[TemporarySendError | PermanentSendError | None]:
        """Send a batch over one connection; one result per message, ``None`` when sent.

        After a connection failure the rest of the batch is not attempted (each gets the
        same temporary error): with the relay down, trying each message would cost one
        timeout apiece and tell nothing new.
        """
        results: list[TemporarySendError | PermanentSendError | None] = []
        async with self.session():
            for index, msg in enumerate(messages):
                try:
                    await self.send(msg)
                except (TemporarySendError, PermanentSendError) as exc:
                    results.append(exc)
                    if isinstance(exc, TemporarySendError) and exc.connection:
                        results.extend([exc] * (len(messages) - index - 1))
                        break
                else:
                    results.append(None)
        return results

    async def close(self) -> None:
        """Close any open connection (for shutdown)."""
        async with self._lock:
            await self._close(polite=True)

    # -- internals ---------------------------------------------------------------------

    def _deadline(self) -> float:
        # connect, TLS, login and one transaction each get timeout_seconds inside
        # aiosmtplib; this outer bound stops a server that answers, slowly, forever
        return self.settings.timeout_seconds * 4

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=self._password,
            use_tls=s.tls == "ssl",
            # False, not None: "none" must not upgrade opportunistically, and "starttls"
            # must fail rather than send in the clear when the server does not offer it
            start_tls=s.tls == "starttls",
            validate_certs=self._validate_certs,
            tls_context=self._tls_context,
            timeout=s.timeout_seconds,
        )
        await client.connect()
        self._client = client
        return client

    async def _close(self, *, polite: bool) -> None:
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        if polite:
            try:
                async with asyncio.timeout(self.settings.timeout_seconds):
                    await client.quit()
                return
            except Exception:  # closing is best effort; the socket is dropped below
                log.debug("smtp_quit_failed", exc_info=True)
        client.close()


def classify_failure(exc: BaseException) -> TemporarySendError | PermanentSendError:
    """Sort an aiosmtplib (or socket) failure into retry-later or give-up; see the module."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        if codes and all(500 <= c < 600 for c in codes):
            return PermanentSendError(f"recipient refused: {detail}", code=codes[0])
        return TemporarySendError(f"recipient deferred: {detail}", code=min(codes, default=None))
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        what = "recipient" if isinstance(exc, aiosmtplib.SMTPRecipientRefused) else "message"
        if 500 <= exc.code < 600:
            return PermanentSendError(f"{what} refused: {exc.code} {exc.message}", code=exc.code)
        return TemporarySendError(f"{what} deferred: {exc.code} {exc.message}", code=exc.code)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        # greeting, HELO, AUTH, MAIL FROM: about our session or settings, not this message;
        # a 421 means the server is closing the connection
        return TemporarySendError(
            f"{type(exc).__name__}: {exc.code} {exc.message}",
            code=exc.code,
            connection=exc.code == 421 or isinstance(exc, aiosmtplib.SMTPConnectError),
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return TemporarySendError(f"server does not support it: {exc}", connection=True)
    if isinstance(exc, _CONNECTION_ERRORS):
        return TemporarySendError(f"{type(exc).__name__}: {exc}".rstrip(": "), connection=True)
    if isinstance(exc, aiosmtplib.SMTPException):
        return TemporarySendError(f"{type(exc).__name__}: {exc}")
    raise exc
