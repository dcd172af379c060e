"""API key queries. Keys are looked up by their SHA-256; the key itself is never stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from worker.errors import NotFound, UserError
from worker.store.models import ApiKey
from worker.store.repo import Store


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    name: str
    scope: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KeyStore:
    """Create, find, list and revoke API keys; one short transaction each."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self, *, name: str, scope: str, key_hash: str, prefix: str, now: datetime
    ) -> ApiKeyView:
        row = ApiKey(name=name, scope=scope, key_hash=key_hash, prefix=prefix, created_at=now)
        try:
            with self.store.transaction() as tx:
                tx.session.add(row)
                tx.session.flush()
                return _view(row)
        except IntegrityError:
            # names are unique for ever, so an audit trail naming a key stays unambiguous
            raise UserError(f"an API key named {name!r} exists already") from None

    def by_hash(self, key_hash: str) -> ApiKeyView | None:
        with self.store.transaction() as tx:
            row = tx.session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()
            return _view(row) if row else None

    def list(self) -> list[ApiKeyView]:
        with self.store.transaction() as tx:
            rows = tx.session.scalars(select(ApiKey).order_by(ApiKey.id))
            return [_view(r) for r in rows]

    def revoke(self, name_or_id: str, now: datetime) -> ApiKeyView:
        """Revoke by name, or by id when the argument is a number no key is named."""
        with self.store.transaction() as tx:
            cond = ApiKey.name == name_or_id
            if name_or_id.isdigit():
                cond = or_(cond, ApiKey.id == int(name_or_id))
            rows = list(tx.session.scalars(select(ApiKey).where(cond).order_by(ApiKey.id)))
            named = [r for r in rows if r.name == name_or_id]
            if not rows:
                raise NotFound(f"no API key named {name_or_id!r}")
            row = (named or rows)[0]
            if row.revoked_at is None:
                row.revoked_at = now
            tx.session.flush()
            return _view(row)

    def touch(self, key_id: int, now: datetime) -> None:
        with self.store.transaction() as tx:
            tx.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


def _view(r: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        id=r.id,
        name=r.name,
        scope=r.scope,
        prefix=r.prefix,
        created_at=r.created_at,
        revoked_at=r.revoked_at,
        last_used_at=r.last_used_at,
    )
