"""``linklog``: unsubscribe hits collected by another web server, read from its access log.

Where the ``/u/{token}`` links are served by something other than optout (an edge proxy,
a CDN, the marketing platform's own domain), the hits still reach us through its access
log. Each valid hit becomes one request, received at the hit's own time (deadlines run
from when the person asked, not from when we read the log), through
:meth:`OptoutService.prepare` / :meth:`OptoutService.record` like every other channel.

Reading rules:

* Formats: nginx/Apache ``combined`` and JSON lines (nginx ``escape=json``, Caddy,
  Traefik: the usual field names are recognised, see :func:`parse_json`).
* Only ``POST /u/{token}`` counts (RFC 8058 one-click, or the page's confirm). A GET is
  what link scanners send for every URL in a message, so GETs are ignored unless
  ``accept_get`` says this server's links unsubscribe on GET (legacy templates).
* The response status is not a filter: a hit that got a 502 because optout was down is
  still a person asking. The token decides: a forged or unknown token is counted and
  skipped, and reveals nothing in the log we write.
* The read position (inode, offset, a fingerprint of the first line) is kept in
  ``source_state``. A new inode is a rotation: the rest of the old file is read first if
  it still sits beside the log (``access.log.1``), then the new file from its start. A
  file shorter than the offset, or with another first line, was truncated or rewritten
  and is read from its start. A line without its newline yet is left for the next pass.
* Idempotent: the evidence key is ``linklog:{token_id}:{hit time}``, so re-reading a
  stretch of log after a crash (the offset is saved after the requests commit) records
  nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

import structlog

from worker.config import LinklogSource as LinklogSettings
from worker.core.model import Channel
from worker.core.tokens import InvalidToken
from worker.errors import UserError
from worker.links import LinkService
from worker.store.state import SourceStateStore

log = structlog.get_logger("optout.sources.linklog")

#: read at most this much per pass, so a huge backlog is worked off in steps
MAX_BYTES_PER_PASS = 64 * 1024 * 1024
#: bytes hashed to recognise a file that was rewritten in place
_HEAD_BYTES = 256
_LINE_MAX = 64 * 1024

_COMBINED = re.compile(
    r'^\S+ \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<target>\S+)[^"]*" '
    r'(?P<status>\d{3}) \S+(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?'
)
_LINK = re.compile(r"/u/(?P<token>[A-Za-z0-9_-]{8,4096})(?P<confirm>/confirm)?/?$")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}


@dataclass(frozen=True)
class Hit:
    """One access-log line that names an unsubscribe link."""

    at: datetime
    method: str
    token: str
    status: int | None
    user_agent: str | None


@dataclass
class PassResult:
    lines: int = 0
    hits: int = 0
    recorded: int = 0
    duplicates: int = 0
    ignored_get: int = 0
    invalid_tokens: int = 0
    malformed: int = 0
    rotated: bool = False
    truncated: bool = False
    errors: list[str] = field(default_factory=list)


# -- parsing ---------------------------------------------------------------------------


def parse_combined(line: str) -> Hit | None:
    """A hit from a combined-format line, or None when the line is not a link hit."""
    m = _COMBINED.match(line)
    if m is None:
        raise ValueError("not a combined log line")
    link = _link(m["target"])
    if link is None:
        return None
    return Hit(
        at=_clf_time(m["time"]),
        method=m["method"],
        token=link,
        status=int(m["status"]),
        user_agent=_unescape(m["agent"]) if m["agent"] not in (None, "-") else None,
    )


def parse_json(line: str) -> Hit | None:
    """A hit from one JSON object a line. Recognised names: time (``time``,
    ``time_iso8601``, ``timestamp``, ``@timestamp``, ``ts``, ``msec``), method
    (``method``, ``request_method``), target (``uri``, ``request_uri``, ``path``, ``url``,
    or ``request`` as "POST /u/… HTTP/1.1"), ``status``, user agent (``user_agent``,
    ``http_user_agent``, ``agent``) — each also inside a ``request`` object (Caddy)."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    inner = data.get("request") if isinstance(data.get("request"), dict) else {}
    assert isinstance(inner, dict)

    def pick(*names: str) -> Any:
        for source in (data, inner):
            for name in names:
                if source.get(name) not in (None, ""):
                    return source[name]
        return None

    method = pick("method", "request_method")
    target = pick("uri", "request_uri", "path", "url")
    request_line = data.get("request")
    if isinstance(request_line, str) and (method is None or target is None):
        parts = request_line.split()
        if len(parts) >= 2:
            method, target = method or parts[0], target or parts[1]
    if not isinstance(method, str) or not isinstance(target, str):
        raise ValueError("no method or target")
    link = _link(target)
    if link is None:
        return None
    when = pick("time", "time_iso8601", "timestamp", "@timestamp", "ts", "msec", "time_local")
    if when is None:
        raise ValueError("no time")
    status = pick("status")
    agent = pick("user_agent", "http_user_agent", "agent")
    if isinstance(agent, dict):  # Caddy: {"User-Agent": ["..."]} under headers
        agent = None
    if agent is None and isinstance(inner.get("headers"), dict):
        values = inner["headers"].get("User-Agent")
        agent = values[0] if isinstance(values, list) and values else None
    return Hit(
        at=_any_time(when),
        method=method.upper(),
        token=link,
        status=int(status) if isinstance(status, int | str) and str(status).isdigit() else None,
        user_agent=str(agent) if agent not in (None, "-") else None,
    )


def _link(target: str) -> str | None:
    path = target.split("?", 1)[0].split("#", 1)[0]
    m = _LINK.search(path)
    return m["token"] if m else None


def _clf_time(text: str) -> datetime:
    """``10/Oct/2026:13:55:36 -0700`` without strptime's locale-dependent ``%b``."""
    m = re.fullmatch(
        r"(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})", text
    )
    if m is None or m[2].title() not in _MONTHS:
        raise ValueError(f"bad time {text!r}")
    offset = timedelta(hours=int(m[8]), minutes=int(m[9]))
    tz = timezone(offset if m[7] == "+" else -offset)
    return datetime(
        int(m[3]), _MONTHS[m[2].title()], int(m[1]), int(m[4]), int(m[5]), int(m[6]), tzinfo=tz
    ).astimezone(UTC)


def _any_time(value: Any) -> datetime:
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        return datetime.fromtimestamp(float(value), UTC)
    if not isinstance(value, str):
        raise ValueError("bad time")
    if "/" in value:
        return _clf_time(value)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("time without a timezone")
    return parsed.astimezone(UTC)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\")


# -- reading ---------------------------------------------------------------------------


class LinklogReader:
    """Reads one access log from its saved position and records the hits in it."""

    def __init__(
        self, settings: LinklogSettings, links: LinkService, states: SourceStateStore
    ) -> None:
        self.settings = settings
        self.links = links
        self.states = states
        self.parse = parse_json if settings.format == "json" else parse_combined

    @property
    def name(self) -> str:
        return self.settings.name

    def poll(self) -> PassResult:
        """One pass: everything complete that was appended since the last pass."""
        result = PassResult()
        path = Path(self.settings.path)
        try:
            st = path.stat()
        except FileNotFoundError:
            log.info("linklog.missing", source=self.name, path=str(path))
            return result
        saved = self.states.get_all(self.name)
        inode = f"{st.st_dev}:{st.st_ino}"
        offset = int(saved.get("offset", "0"))
        if saved.get("inode") not in (None, inode):
            result.rotated = True
            old = self._find_rotated(path, saved["inode"])
            if old is not None:
                self._read(old, offset, saved["inode"], result, final=True)
            offset = 0
        elif offset > st.st_size or (offset and saved.get("head") != _head(path, offset)):
            result.truncated = True
            offset = 0
        if result.rotated or result.truncated:
            # the new position is saved at once, so the old file is never read twice
            # even when the new one has no complete line yet
            self._save(inode, 0, _head(path, 0))
        self._read(path, offset, inode, result, final=False)
        if result.hits or result.malformed or result.rotated or result.truncated:
            log.info(
                "linklog.pass",
                source=self.name,
                lines=result.lines,
                hits=result.hits,
                recorded=result.recorded,
                duplicates=result.duplicates,
                ignored_get=result.ignored_get,
                invalid_tokens=result.invalid_tokens,
                malformed=result.malformed,
                rotated=result.rotated,
                truncated=result.truncated,
            )
        return result

    def _find_rotated(self, path: Path, inode: str) -> Path | None:
        """The rotated-away file (``access.log.1``, ``access.log-20261123``) by inode."""
        try:
            candidates = list(path.parent.iterdir())
        except OSError:
            return None
        for p in candidates:
            if p.name.startswith(path.name) and p != path and not p.name.endswith(".gz"):
                try:
                    st = p.stat()
                except OSError:
                    continue
                if f"{st.st_dev}:{st.st_ino}" == inode:
                    return p
        return None

    def _read(self, path: Path, offset: int, inode: str, result: PassResult, final: bool) -> None:
        try:
            fh = path.open("rb")
        except OSError as exc:
            result.errors.append(f"{path}: {exc}")
            return
        with fh:
            fh.seek(offset)
            budget = MAX_BYTES_PER_PASS
            for chunk_end, lines in _complete_lines(fh, offset, budget):
                for line in lines:
                    self._line(line, result)
                if not final:
                    self._save(inode, chunk_end, _head_of(fh, chunk_end))

    def _save(self, inode: str, offset: int, head: str) -> None:
        values = {"inode": inode, "offset": str(offset), "head": head}
        self.states.put(self.name, values, self.links.service.clock.now())

    def _line(self, raw: bytes, result: PassResult) -> None:
        result.lines += 1
        if len(raw) > _LINE_MAX or not raw.strip():
            result.malformed += bool(raw.strip())
            return
        try:
            hit = self.parse(raw.decode("utf-8", "replace"))
        except (ValueError, KeyError, TypeError):
            result.malformed += 1
            return
        if hit is None:
            return
        result.hits += 1
        if hit.method == "GET" and not self.settings.accept_get:
            result.ignored_get += 1
            return
        if hit.method not in ("GET", "POST"):
            return
        self._record(hit, result)

    def _record(self, hit: Hit, result: PassResult) -> None:
        try:
            claims = self.links.verify(hit.token)
        except InvalidToken:
            result.invalid_tokens += 1
            return
        scope, extra = self.links.scope_of(claims)
        stamp = hit.at.isoformat(timespec="seconds").replace("+00:00", "Z")
        evidence: dict[str, Any] = {
            "source": self.name,
            "token_id": claims.token_id,
            "key_id": claims.key_id,
            "method": hit.method,
            "status": hit.status,
            "user_agent": (hit.user_agent or "")[:512] or None,
            "seconds_since_minted": claims.age(int(hit.at.timestamp())),
            **extra,
        }
        try:
            req = self.links.service.prepare(
                claims.address,
                scope=scope,
                channel=Channel.ONE_CLICK if hit.method == "POST" else Channel.LINK,
                received_at=hit.at,
                evidence_key=f"linklog:{claims.token_id}:{stamp}",
                evidence=evidence,
            )
        except UserError as exc:
            result.errors.append(exc.message)
            return
        outcome = self.links.service.record(req)
        if outcome.created:
            result.recorded += 1
        else:
            result.duplicates += 1


def _head(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as fh:
            return _head_of(fh, offset)
    except OSError:
        return ""


def _head_of(fh: BinaryIO, offset: int) -> str:
    """A fingerprint of the file's first bytes (at most ``offset``), restoring the position.

    Only bytes before the saved offset are hashed, so appending to a short file does not
    look like a rewrite.
    """
    n = min(_HEAD_BYTES, offset)
    here = fh.tell()
    fh.seek(0)
    digest = hashlib.sha256(fh.read(n)).hexdigest()[:16]
    fh.seek(here)
    return f"{n}:{digest}"


def _complete_lines(
    fh: BinaryIO, offset: int, budget: int, chunk: int = 1 << 20
) -> Iterator[tuple[int, list[bytes]]]:
    """(offset after the batch, complete lines) batches; a trailing partial line waits."""
    pending = b""
    start = offset  # file offset of pending[0]
    while budget > 0:
        data = fh.read(min(chunk, budget))
        if not data:
            return
        budget -= len(data)
        buf = pending + data
        cut = buf.rfind(b"\n")
        if cut < 0:
            pending = buf
            continue
        lines = [line.rstrip(b"\r") for line in buf[:cut].split(b"\n")]
        pending = buf[cut + 1 :]
        start += cut + 1
        yield start, lines


__all__ = ["Hit", "LinklogReader", "PassResult", "parse_combined", "parse_json"]
