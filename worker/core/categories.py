"""Categories, their kinds, and the scope of an opt-out.

The one rule this module exists for: an opt-out of promotional email never reaches a
transactional category (DESIGN rule 3). Only an explicitly configured effect — a hard
bounce, say — may use the ``every`` scope that also covers transactional mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from worker.errors import InvalidScope, UnknownCategory


class Kind(StrEnum):
    TRANSACTIONAL = "transactional"
    PROMOTIONAL = "promotional"


#: scope of an opt-out from every promotional category
ALL_PROMOTIONAL = "all"
#: scope that also covers transactional mail; only for configured bounce/complaint effects
EVERY = "every"
RESERVED_NAMES = frozenset({ALL_PROMOTIONAL, EVERY})
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Category:
    name: str
    kind: Kind
    description: str = ""

    @property
    def promotional(self) -> bool:
        return self.kind is Kind.PROMOTIONAL


class Categories:
    """The configured categories; resolves names and scopes with clear errors."""

    def __init__(self, categories: Iterable[Category]) -> None:
        self._by_name: dict[str, Category] = {}
        for cat in categories:
            if cat.name in RESERVED_NAMES or not NAME_RE.fullmatch(cat.name):
                raise ValueError(f"invalid category name {cat.name!r}")
            self._by_name[cat.name] = cat

    @classmethod
    def from_kinds(cls, kinds: Mapping[str, Kind | str]) -> Categories:
        return cls(Category(name, Kind(kind)) for name, kind in kinds.items())

    def __iter__(self) -> Iterator[Category]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    @property
    def promotional(self) -> list[Category]:
        return [c for c in self._by_name.values() if c.promotional]

    def get(self, name: str) -> Category:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name))
            raise UnknownCategory(f"{name!r} (known: {known})") from None

    def opt_out_scope(self, scope: str) -> str:
        """Validate the scope of a person's opt-out: ``all`` or one promotional category."""
        if scope == ALL_PROMOTIONAL:
            return scope
        if scope == EVERY:
            raise InvalidScope("'every' is reserved for bounce and complaint effects")
        cat = self.get(scope)
        if not cat.promotional:
            raise InvalidScope(
                f"{scope!r} is transactional; an opt-out covers promotional categories only"
            )
        return scope

    def effect_scope(self, scope: str) -> str:
        """Validate a configured effect's scope, where ``every`` is allowed."""
        if scope in RESERVED_NAMES:
            return scope
        self.get(scope)
        return scope

    def covered_by(self, scope: str) -> list[str]:
        """Names of the categories a suppression of ``scope`` stops."""
        if scope == EVERY:
            return self.names
        if scope == ALL_PROMOTIONAL:
            return [c.name for c in self.promotional]
        return [scope] if scope in self._by_name else []

    def scopes_blocking(self, category: str) -> list[str]:
        """The suppression scopes that stop ``category``: the inverse of ``covered_by``."""
        cat = self.get(category)
        if cat.promotional:
            return [EVERY, ALL_PROMOTIONAL, cat.name]
        return [EVERY, cat.name]
