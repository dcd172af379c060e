"""A real Dovecot for tests: its own process, a loopback port, a throwaway Maildir.

Nothing under /etc/dovecot is used: the whole configuration is written into a temporary
directory (the recipe in NOTES.md, measured here). The same instance can be stopped and
started again on the same port with the same Maildir, which is how the outage tests
simulate a server going away under a connected source.

Helpers talk to it with the standard library's ``imaplib`` on purpose: a second, unrelated
client checks what the source under test did, so a bug in our aioimaplib handling cannot
hide itself.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

USER = "optout"
PASSWORD = "secret"  # a throwaway test account on loopback


class DovecotUnavailable(RuntimeError):
    """dovecot is not installed or did not start"""


def free_port() -> int:
    """A port nobody listens on right now (``port = 0`` cannot be given to Dovecot)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _self_signed(cert: Path, key: Path) -> None:
    """A certificate for 127.0.0.1 so the ``ssl`` and ``starttls`` paths run for real."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    pkey = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    crt = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pkey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(pkey, hashes.SHA256())
    )
    cert.write_bytes(crt.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        pkey.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)


def tree_cpu_seconds(master: int) -> float:
    """CPU seconds of a pre-forking server so far: ``master``, its reaped children
    (``cutime``/``cstime``) and its live ones (Linux ``/proc``).

    A counter that only grows, so a session that ends between two readings still
    counts: its time has moved into the master's ``cutime``.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile: its time is in the master's cutime now
            continue
        fields = stat.rsplit(")", 1)[1].split()
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master:
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        elif ppid == master:
            total += int(fields[11]) + int(fields[12])
    return total / tick


@dataclass
class Dovecot:
    """One Dovecot instance; ``separator`` picks the mailbox hierarchy delimiter."""

    root: Path
    separator: str = "."
    port: int = field(default_factory=free_port)
    ssl_port: int = field(default_factory=free_port)
    user: str = USER
    password: str = PASSWORD
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    # -- layout ---------------------------------------------------------------------
    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def cert(self) -> Path:
        return self.root / "cert.pem"

    @property
    def log(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def maildir(self) -> Path:
        """The user's Maildir root (INBOX); sub-folders are ``.name`` or ``name/`` inside."""
        return self.root / "mail" / self.user

    def folder_path(self, mailbox: str) -> Path:
        if mailbox.upper() == "INBOX":
            return self.maildir
        if self.separator == ".":
            return self.maildir / ("." + mailbox)
        return self.maildir / mailbox

    def _write_config(self) -> None:
        root = self.root
        # Dovecot's auth and mail processes run as other users: they must reach in here.
        root.chmod(0o755)
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        _self_signed(self.cert, root / "key.pem")
        layout = "" if self.separator == "." else ":LAYOUT=fs"
        as_root = os.geteuid() == 0
        if as_root:
            ids = "uid=nobody gid=nogroup"
            extra = ""
            chroot = ""
            shutil.chown(root / "mail", "nobody", "nogroup")
        else:  # NOTES: run every Dovecot process as the current user, without chroot
            user = os.environ.get("USER") or str(os.getuid())
            ids = f"uid={os.getuid()} gid={os.getgid()}"
            extra = (
                f"default_internal_user = {user}\n"
                f"default_internal_group = {user}\n"
                f"default_login_user = {user}\n"
            )
            chroot = "  chroot =\n"
        self.conf.write_text(
            f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u{layout}
first_valid_uid = 1
{extra}namespace inbox {{
  inbox = yes
  separator = {self.separator}
}}
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = {ids} home={root}/mail/%u
}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
  }}
}}
service anvil {{
{chroot}}}
"""
        )

    # -- lifecycle ------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Start in the foreground (``-F``) and wait until the port accepts."""
        binary = shutil.which("dovecot") or (
            "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
        )
        if binary is None:
            raise DovecotUnavailable("dovecot is not installed (make services)")
        if not self.conf.exists():
            self._write_config()
        self._proc = subprocess.Popen(
            [binary, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stop() ends the sessions too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise DovecotUnavailable(f"dovecot exited: {err.strip()} {self._log_tail()}")
            if _port_open(self.port) and _port_open(self.ssl_port):
                return
            time.sleep(0.02)
        self.stop()
        raise DovecotUnavailable(f"dovecot did not listen within {timeout}s {self._log_tail()}")

    def stop(self) -> None:
        """Stop the server *and* its live IMAP sessions, as a crash or reboot would.

        The master alone leaves established ``imap`` processes serving their clients,
        which would hide an outage from the source under test; so the whole process
        group started by :meth:`start` is signalled. Waits until the port is free.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()
        deadline = time.monotonic() + 5
        while _port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def account(self, user: str) -> Dovecot:
        """Another mailbox owner on the same server: a cheap, isolated Maildir per test.

        Any user name logs in with the one password (a static passdb), and each gets its
        own Maildir. The returned view shares the process; only the owner stops it.
        """
        return replace(self, user=user, _proc=None)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's processes (imap, imap-login, auth, …):
        see :func:`tree_cpu_seconds`. Benchmarks read it around a run to put the
        server's share of the machine beside their own."""
        if self._proc is None:
            raise RuntimeError("cpu_seconds() of a Dovecot that this view did not start")
        return tree_cpu_seconds(self._proc.pid)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _log_tail(self) -> str:
        try:
            return "| log: " + " / ".join(self.log.read_text().splitlines()[-5:])
        except OSError:
            return ""

    # -- IMAP helpers (stdlib client) -----------------------------------------------
    @contextmanager
    def imap(self) -> Iterator[imaplib.IMAP4]:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(self.user, self.password)
            yield client
        finally:
            with suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def append(
        self,
        message: bytes,
        mailbox: str = "INBOX",
        date_time: dt.datetime | None = None,
        flags: str = "",
    ) -> int:
        """APPEND one message; return its UID (from APPENDUID, UIDPLUS)."""
        with self.imap() as c:
            when = imaplib.Time2Internaldate(date_time) if date_time else None
            typ, data = c.append(_q(mailbox), flags or None, when, message)
            assert typ == "OK", data
            m = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert m, data
            return int(m.group(1))

    def create(self, mailbox: str) -> None:
        with self.imap() as c:
            typ, data = c.create(_q(mailbox))
            assert typ == "OK", data

    def delete(self, mailbox: str) -> None:
        with self.imap() as c:
            typ, data = c.delete(_q(mailbox))
            assert typ == "OK", data

    def uids(self, mailbox: str = "INBOX") -> list[int]:
        """Every UID in a mailbox, ``\\Deleted`` or not; [] when the mailbox is absent."""
        with self.imap() as c:
            typ, _ = c.select(_q(mailbox), readonly=True)
            if typ != "OK":
                return []
            typ, data = c.uid("SEARCH", "ALL")
            assert typ == "OK", data
            return [int(x) for x in (data[0] or b"").split()]

    def bodies(self, mailbox: str) -> list[bytes]:
        with self.imap() as c:
            typ, _ = c.select(_q(mailbox), readonly=True)
            if typ != "OK":
                return []
            typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
            assert typ == "OK", data
            return [part[1] for part in data if isinstance(part, tuple)]

    def mailboxes(self) -> list[str]:
        with self.imap() as c:
            typ, data = c.list()
            assert typ == "OK", data
            names = []
            for line in data:
                assert isinstance(line, bytes)
                m = re.match(rb'\(.*?\) (?:"."|NIL) "?(.*?)"?$', line)
                if m:
                    names.append(m.group(1).decode())
            return names

    def uidvalidity(self, mailbox: str = "INBOX") -> int:
        with self.imap() as c:
            typ, data = c.status(_q(mailbox), "(UIDVALIDITY)")
            assert typ == "OK", data
            m = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
            assert m, data
            return int(m.group(1))

    # -- bulk load straight into the Maildir ----------------------------------------
    def drop(
        self, messages: Iterable[bytes], mailbox: str = "INBOX", when: float | None = None
    ) -> int:
        """Write messages into the Maildir as a delivery agent would (tmp/ then new/).

        Thousands of times faster than APPEND, and Dovecot indexes them at the next
        SELECT. The file's mtime is what Dovecot reports as INTERNALDATE.
        """
        folder = self.folder_path(mailbox)
        for sub in ("tmp", "new", "cur"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        ts = int(when if when is not None else time.time())
        pid = os.getpid()
        host = socket.gethostname().replace("/", "_").replace(":", "_")
        n = 0
        for i, msg in enumerate(messages):
            name = f"{ts}.M{i}P{pid}.{host},S={len(msg)}"
            tmp = folder / "tmp" / name
            tmp.write_bytes(msg)
            os.utime(tmp, (ts, ts))
            os.rename(tmp, folder / "new" / name)
            n += 1
        if os.geteuid() == 0:  # the mail processes run as nobody and must own the files
            for path in (self.maildir, *self.maildir.rglob("*")):
                shutil.chown(path, "nobody", "nogroup")
        return n


def _q(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
