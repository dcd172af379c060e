"""SmtpSender against a real aiosmtpd server on a loopback port, in all three TLS modes.

The server is told per test how to answer (a 451 on DATA, a 550 on RCPT, a slow DATA);
TLS uses a self-signed certificate generated here, which is why the sender is built with
``validate_certs=False`` (a constructor argument for tests, not a setting).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import service_missing
from worker.config import SmtpSettings
from worker.errors import ConfigError, OptoutError
from worker.mail.compose import confirmation
from worker.mail.sender import PermanentSendError, SmtpSender, TemporarySendError

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
except ImportError as exc:  # pragma: no cover - the dev extra installs it
    service_missing(f"aiosmtpd is not installed: {exc}")

PASSWORD_ENV = "OPTOUT_TEST_SMTP_PASSWORD"


@dataclass
class Handler:
    """Records what arrives; answers RCPT/DATA as the test says."""

    refuse: dict[str, str] = field(default_factory=dict)
    data_reply: str = "250 OK"
    data_delay: float = 0.0
    received: list[Envelope] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)
    logins: list[bytes] = field(default_factory=list)

    # aiosmtpd finds its hooks by these exact names
    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply.startswith("250"):
            self.received.append(envelope)
            self.peers.append(session.peer)
        return self.data_reply

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"s3cret"
        if ok:
            self.logins.append(data.login)
        # handled=False: aiosmtpd then answers 535 itself (True means "I already replied")
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def smtp_server(handler: Handler, **kwargs: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made on the spot (EC: fast to generate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def server_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*tls_files)
    return ctx


def settings(port: int, tls: str = "none", **extra: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "tls": tls,
        "from": "Example <no-reply@example.com>",
        "timeout_seconds": 2.0,
    }
    values.update(extra)
    return SmtpSettings.model_validate(values)


def message(to: str = "john@example.com", request_id: int = 1) -> EmailMessage:
    return confirmation(
        to=to,
        sender="Example <no-reply@example.com>",
        scope_label="all",
        categories_stopped=["newsletter"],
        account_continues=True,
        received_at=datetime(2026, 11, 23, 15, 0, tzinfo=UTC),
        request_id=request_id,
        message_id_domain="example.com",
        in_reply_to="<orig@mail.example.org>",
    )


async def test_message_arrives_with_its_headers() -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        await SmtpSender(settings(port)).send(message())
    [envelope] = handler.received
    assert envelope.mail_from == "no-reply@example.com"
    assert envelope.rcpt_tos == ["john@example.com"]
    assert isinstance(envelope.content, bytes)
    got = message_from_bytes(envelope.content, policy=default)
    assert got["Auto-Submitted"] == "auto-replied"
    assert got["In-Reply-To"] == "<orig@mail.example.org>"
    assert got["Message-ID"].endswith("@example.com>")
    assert got["List-Unsubscribe"] is None


async def test_a_batch_goes_over_one_connection() -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        results = await SmtpSender(settings(port)).send_many(
            [message(f"p{i}@example.com", i) for i in range(5)]
        )
    assert results == [None] * 5
    assert len(handler.received) == 5
    assert len(set(handler.peers)) == 1


async def test_a_session_reuses_its_connection_for_separate_sends() -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        sender = SmtpSender(settings(port))
        async with sender.session():
            await sender.send(message("a@example.com"))
            await sender.send(message("b@example.com"))
        await sender.send(message("c@example.com"))  # outside: its own connection
    assert handler.peers[0] == handler.peers[1] != handler.peers[2]


async def test_451_on_data_is_temporary() -> None:
    handler = Handler(data_reply="451 4.3.0 Try again later")
    with smtp_server(handler) as port, pytest.raises(TemporarySendError) as info:
        await SmtpSender(settings(port)).send(message())
    assert info.value.code == 451
    assert not info.value.connection
    assert isinstance(info.value, OptoutError)


async def test_550_on_rcpt_is_permanent_and_the_batch_goes_on() -> None:
    handler = Handler(refuse={"gone@example.com": "550 5.1.1 No such user"})
    with smtp_server(handler) as port:
        results = await SmtpSender(settings(port)).send_many(
            [message("gone@example.com", 1), message("here@example.com", 2)]
        )
    assert isinstance(results[0], PermanentSendError)
    assert results[0].code == 550
    assert "No such user" in str(results[0])
    assert results[1] is None
    assert [e.rcpt_tos for e in handler.received] == [["here@example.com"]]
    assert len(set(handler.peers)) == 1


async def test_452_on_rcpt_is_temporary() -> None:
    handler = Handler(refuse={"full@example.com": "452 4.2.2 Mailbox full"})
    with smtp_server(handler) as port, pytest.raises(TemporarySendError) as info:
        await SmtpSender(settings(port)).send(message("full@example.com"))
    assert info.value.code == 452


async def test_554_on_data_is_permanent() -> None:
    handler = Handler(data_reply="554 5.7.1 Message rejected")
    with smtp_server(handler) as port, pytest.raises(PermanentSendError) as info:
        await SmtpSender(settings(port)).send(message())
    assert info.value.code == 554


async def test_server_down_is_temporary_and_the_rest_of_the_batch_waits() -> None:
    sender = SmtpSender(settings(free_port()))  # nothing listens there
    with pytest.raises(TemporarySendError) as info:
        await sender.send(message())
    assert info.value.connection
    started = time.monotonic()
    results = await sender.send_many([message(f"p{i}@example.com", i) for i in range(3)])
    assert all(isinstance(r, TemporarySendError) and r.connection for r in results)
    assert time.monotonic() - started < 1.0


async def test_a_server_that_does_not_answer_in_time_is_temporary() -> None:
    handler = Handler(data_delay=3.0)
    with smtp_server(handler) as port:
        sender = SmtpSender(settings(port, timeout_seconds=0.3))
        started = time.monotonic()
        with pytest.raises(TemporarySendError) as info:
            await sender.send(message())
    assert info.value.connection
    assert time.monotonic() - started < 2.0


async def test_starttls_with_login_from_the_named_environment_variable(
    server_tls: ssl.SSLContext,
) -> None:
    handler = Handler()
    with smtp_server(
        handler,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=handler.authenticate,
        auth_require_tls=True,
    ) as port:
        sender = SmtpSender(
            settings(port, "starttls", username="optout", password_env=PASSWORD_ENV),
            validate_certs=False,
            environ={PASSWORD_ENV: "s3cret"},
        )
        await sender.send(message())
    assert handler.logins == [b"optout"]
    assert len(handler.received) == 1


async def test_starttls_refuses_a_certificate_it_cannot_verify(
    server_tls: ssl.SSLContext,
) -> None:
    handler = Handler()
    with (
        smtp_server(handler, tls_context=server_tls, require_starttls=True) as port,
        pytest.raises(TemporarySendError),
    ):
        await SmtpSender(settings(port, "starttls")).send(message())
    assert handler.received == []


async def test_starttls_never_falls_back_to_plain_text() -> None:
    handler = Handler()  # offers no STARTTLS
    with smtp_server(handler) as port, pytest.raises(TemporarySendError):
        await SmtpSender(settings(port, "starttls")).send(message())
    assert handler.received == []


async def test_implicit_tls(server_tls: ssl.SSLContext) -> None:
    handler = Handler()
    with smtp_server(handler, ssl_context=server_tls) as port:
        await SmtpSender(settings(port, "ssl"), validate_certs=False).send(message())
    assert len(handler.received) == 1


async def test_a_wrong_password_is_temporary_since_fixing_the_config_fixes_it(
    server_tls: ssl.SSLContext,
) -> None:
    handler = Handler()
    with smtp_server(
        handler, tls_context=server_tls, require_starttls=True, authenticator=handler.authenticate
    ) as port:
        sender = SmtpSender(
            settings(port, "starttls", username="optout", password_env=PASSWORD_ENV),
            validate_certs=False,
            environ={PASSWORD_ENV: "wrong"},
        )
        with pytest.raises(TemporarySendError) as info:
            await sender.send(message())
    assert info.value.code == 535


def test_a_username_without_its_password_variable_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match=PASSWORD_ENV):
        SmtpSender(settings(25, username="optout", password_env=PASSWORD_ENV), environ={})


def test_the_password_never_shows_in_repr() -> None:
    sender = SmtpSender(
        settings(25, username="optout", password_env=PASSWORD_ENV),
        environ={PASSWORD_ENV: "s3cret"},
    )
    assert "s3cret" not in repr(sender)
