"""aioimaplib's client with a response reader that is linear in what the server sends.

aioimaplib 2.0.3 reads responses with ``_handle_responses``, which calls itself once
per line and hands the rest of the chunk on as a new ``bytes`` (``partition``): a chunk
of k lines copies its tail k times. The event loop delivers up to 256 KB per read, and a
backlog's FETCH response is mostly literals, so the copying grows with the square of
the chunk: 103–156 µs per message of a corpus-like backlog at 256 KB reads, 32–80 µs at
64 KB, against 6–10 µs here (``tests/bench/bench_imap_proto.py``, several runs). On
top of that, ``FetchCommand.wait_data`` scans every line of the response received so
far after each line, and ``data_received``
formats each whole chunk for a debug message before the logger decides to drop it.
That is CPU on the event loop, which also hands batches to the classifier and moves
settled mail, so it is on the critical path of every pass.

:class:`FastProtocol` reads the same way with an offset into the chunk (literals are
copied once, from a ``memoryview``), keeps each FETCH command's parenthesis balance as
lines arrive instead of rescanning them, and formats the debug message only when debug
logging is on. Everything else (line handling, commands, IDLE, states) is aioimaplib's.
``tests/unit/test_imap_proto.py`` feeds the same byte streams, cut at every kind of
boundary, to both readers and requires the same responses.

It relies on aioimaplib's internals (``_handle_responses``, ``Command`` attributes),
so the dependency is pinned below the next major version in pyproject.toml.
"""

from __future__ import annotations

import logging
from typing import Any

import aioimaplib
from aioimaplib import aioimaplib as _impl

_CRLF = b"\r\n"
_LOG = logging.getLogger("aioimaplib.aioimaplib")


class FastProtocol(_impl.IMAP4ClientProtocol):  # type: ignore[misc]
    incomplete_line: bytes
    current_command: Any

    def data_received(self, d: bytes) -> None:
        _LOG.debug("Received : %r", d)  # aioimaplib's message, formatted only when shown
        try:
            self._handle_responses(
                self.incomplete_line + d, self._handle_line, self.current_command
            )
            self.incomplete_line = b""
            self.current_command = None
        except _impl.IncompleteRead as incomplete_read:
            self.current_command = incomplete_read.cmd
            self.incomplete_line = incomplete_read.data

    def _handle_responses(self, data: bytes, line_handler: Any, current_cmd: Any = None) -> None:
        """aioimaplib's recursion as a loop: one turn per recursive call it would make."""
        view = memoryview(data)
        pos = 0
        end = len(data)
        cmd = current_cmd
        literal = _impl.literal_data_re.match
        while True:
            if pos >= end:
                if self.pending_sync_command is not None:
                    self.pending_sync_command.flush()
                if cmd is not None and _wait_data(cmd):
                    raise _impl.IncompleteRead(cmd)
                return
            if cmd is not None and cmd.wait_literal_data():
                pos = _append_literal(cmd, view, pos)
                if cmd.wait_literal_data():
                    raise _impl.IncompleteRead(cmd)
            cut = data.find(_CRLF, pos)
            if cut < 0:
                raise _impl.IncompleteRead(cmd, data[pos:])
            line = data[pos:cut]
            pos = cut + 2
            handled = line_handler(line, cmd)
            begin = literal(line)
            if begin:
                if handled is None:
                    handled = _impl.Command("NIL", "unused")
                handled.begin_literal_data(int(begin.group("size")))
                cmd = handled
            elif handled is not None and _wait_data(handled):
                cmd = handled
            else:
                cmd = None


def _append_literal(cmd: Any, view: memoryview, pos: int) -> int:
    """``Command.append_literal_data`` on ``view[pos:]``; the new offset."""
    take = cmd._expected_size - len(cmd._resp_literal_data)
    cmd._resp_literal_data.extend(view[pos : pos + take])
    if not cmd.wait_literal_data():
        cmd.append_to_resp(cmd._resp_literal_data)
        cmd._end_literal_data()
    cmd._reset_timer()
    return min(pos + take, len(view)) if take > 0 else pos


def _wait_data(cmd: Any) -> bool:
    """``cmd.wait_data()``; for a FETCH, from a balance kept as its lines arrive.

    ``FetchCommand.wait_data`` is true while the ``bytes`` lines from the last
    ``n FETCH (`` line on hold more ``(`` than ``)`` (literals, ``bytearray``, are not
    counted). Lines are only ever appended, so the count is carried forward.
    """
    if type(cmd) is not _impl.FetchCommand:
        return bool(cmd.wait_data())
    lines = cmd._resp_lines
    state = cmd.__dict__.get("_optout_parens")
    seen, balance = state if state is not None else (0, 0)
    if seen < len(lines):
        starts = _impl.FetchCommand.FETCH_MESSAGE_DATA_RE.match
        for line in lines[seen:]:
            if isinstance(line, bytes):
                if starts(line):
                    balance = 0
                balance += line.count(b"(") - line.count(b")")
        cmd._optout_parens = (len(lines), balance)
    return balance != 0


class FastIMAP4(aioimaplib.IMAP4):  # type: ignore[misc]
    """``aioimaplib.IMAP4`` whose connection speaks through :class:`FastProtocol`."""

    def create_client(
        self,
        host: str,
        port: int,
        loop: Any,
        conn_lost_cb: Any = None,
        ssl_context: Any = None,
    ) -> None:
        local_loop = loop if loop is not None else _impl.get_running_loop()
        self.protocol = FastProtocol(local_loop, conn_lost_cb)
        self._client_task = local_loop.create_task(
            local_loop.create_connection(lambda: self.protocol, host, port, ssl=ssl_context)
        )
