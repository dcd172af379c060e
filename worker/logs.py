"""Structured logging: JSON in the daemon, readable on a terminal, addresses masked.

Masking is a processor, not a habit: any string field that looks like an address is
masked at info level and above, so a careless ``log.info(..., address=addr)`` cannot leak
a full address into a log shipper.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any


def _import_structlog_without_rich() -> None:
    """Import structlog with rich hidden from it.

    structlog.dev imports rich's traceback renderer (and pygments through it) whenever
    rich is installed, to pretty-print exceptions in its console renderer; here
    ``format_exc_info`` turns every exception into text before any renderer sees it, so
    that import was a sixth of every command's start (rich, pygments: 18 ms of CPU; with
    the tables, which cli.py now imports when it prints one, 35 ms). A ``None`` in
    ``sys.modules`` makes ``import rich`` raise ImportError, structlog's documented
    fallback; the entry is put back at once, so rich imports normally afterwards.
    """
    if "structlog" in sys.modules:  # imported before this module: nothing to save
        return
    before = sys.modules.get("rich")
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        import structlog  # noqa: F401
    finally:
        if before is None:
            del sys.modules["rich"]
        else:
            sys.modules["rich"] = before


_import_structlog_without_rich()

import structlog  # noqa: E402

from worker.core.addresses import mask_in_text  # noqa: E402

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def mask_addresses(
    _logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if method == "debug":
        return event_dict
    for key, value in list(event_dict.items()):
        if isinstance(value, str) and "@" in value:
            event_dict[key] = mask_in_text(value)
    return event_dict


class _StderrLogger:
    """Writes to whatever ``sys.stderr`` is at the time of the call, not at configure
    time, so a replaced stream (a test capture, a daemon's redirected fd) is honoured."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_logger(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


def configure(level: str = "info", fmt: str = "auto") -> None:
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_addresses,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.ERROR)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
