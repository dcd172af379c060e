"""One root exception for everything optout reports to a person.

Each subclass's docstring is its message; the detail passed to the constructor is
appended, so the CLI and the API print one clear line without a traceback.
"""

from __future__ import annotations


class OptoutError(Exception):
    """optout failed"""

    #: exit status of the CLI when this error ends a command
    exit_code = 1

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        head = (type(self).__doc__ or "error").strip().splitlines()[0]
        return f"{head}: {self.detail}" if self.detail else head


class UserError(OptoutError):
    """invalid input"""

    exit_code = 2


class InvalidAddress(UserError):
    """not a valid email address"""


class UnknownCategory(UserError):
    """unknown category"""


class InvalidScope(UserError):
    """invalid scope"""


class InvalidTime(UserError):
    """invalid time"""


class NotFound(UserError):
    """not found"""


class InvalidState(UserError):
    """not possible in the current state"""


class ConfigError(OptoutError):
    """configuration error"""

    exit_code = 2


class DatabaseUnavailable(OptoutError):
    """database unavailable"""


class SchemaOutOfDate(OptoutError):
    """database schema is not up to date; run `optout migrate`"""
