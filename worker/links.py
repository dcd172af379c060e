"""Unsubscribe links: minting the headers, and turning a clicked or POSTed token into an
opt-out.

Every opt-out goes through :meth:`OptoutService.prepare` and :meth:`OptoutService.record`,
so evidence keys, deadlines and the audit trail work exactly as for every other channel.
The evidence key is derived from the token id, which is what makes a repeated one-click
POST (mail clients retry, scanners replay) one request with one effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from worker.config import Settings
from worker.core.addresses import mask, normalise
from worker.core.categories import ALL_PROMOTIONAL, Categories, Category
from worker.core.model import Channel, NewRequest, Outcome
from worker.core.tokens import InvalidToken, KeyRing, TokenClaims, encode_mailto, encode_url
from worker.errors import ConfigError, UserError
from worker.mail.headers import unsubscribe_headers
from worker.service import OptoutService

_USER_AGENT_MAX = 512


@dataclass(frozen=True)
class HeadersAnswer:
    """The headers for one message, or why a message of this category gets none."""

    address: str
    category: str
    transactional: bool
    headers: dict[str, str] = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True)
class LinkPage:
    """What the confirmation page shows; no full address, no token internals."""

    masked_address: str
    scope: str  # the token's scope: "all" or a category
    category: Category | None  # None when the token is for all promotional email
    others: list[Category]  # the other promotional categories, offered as checkboxes
    suppressed_scopes: list[str]  # what this address is already out of (of the above)


def key_ring(settings: Settings) -> KeyRing:
    spec = settings.token_keys()
    if spec is None:
        raise ConfigError(
            f"no token keys: set {settings.tokens.keys_env} to 'id:secret' (or tokens.dev_keys)"
        )
    return KeyRing.parse(spec.get_secret_value(), source=settings.tokens.keys_env)


class LinkService:
    def __init__(
        self,
        service: OptoutService,
        ring: KeyRing,
        *,
        public_url: str,
        mailto_domain: str | None = None,
        mailto_local: str = "unsubscribe",
        max_age_days: int | None = None,
    ) -> None:
        self.service = service
        self.ring = ring
        self.public_url = public_url
        self.mailto_domain = mailto_domain
        self.mailto_local = mailto_local
        self.max_age = max_age_days * 86400 if max_age_days else None

    @classmethod
    def from_settings(cls, service: OptoutService, settings: Settings) -> LinkService:
        t = settings.tokens
        return cls(
            service,
            key_ring(settings),
            public_url=settings.http.public_url,
            mailto_domain=t.mailto_domain,
            mailto_local=t.mailto_local,
            max_age_days=t.max_age_days,
        )

    @property
    def categories(self) -> Categories:
        return self.service.categories

    def _now(self) -> int:
        return int(self.service.clock.now().timestamp())

    # -- minting -------------------------------------------------------------------------
    def headers(self, address: str, category: str) -> HeadersAnswer:
        """List-Unsubscribe headers for a message of ``category`` to ``address``."""
        normalised = normalise(address)
        cat = self.categories.get(category)
        if not cat.promotional:
            return HeadersAnswer(
                normalised,
                category,
                transactional=True,
                note=(
                    f"{category} is transactional: its messages carry no unsubscribe "
                    "headers, and an opt-out never stops them"
                ),
            )
        raw = self.ring.seal(normalised, category, self._now())
        mailto = encode_mailto(raw) if self.mailto_domain else None
        values = unsubscribe_headers(
            public_url=self.public_url,
            mailto_domain=self.mailto_domain,
            mailto_local=self.mailto_local,
            url_token=encode_url(raw),
            mailto_token=mailto,
        )
        return HeadersAnswer(normalised, category, transactional=False, headers=values)

    def link(self, address: str, scope: str) -> str:
        """The bare unsubscribe URL (for a footer link), for ``all`` or one category."""
        scope = self.categories.opt_out_scope(scope)
        return f"{self.public_url}/u/{self.ring.mint(normalise(address), scope, self._now())}"

    # -- verifying -----------------------------------------------------------------------
    def verify(self, token: str) -> TokenClaims:
        """Raise :class:`InvalidToken` (one message for every failure) unless ours."""
        return self.ring.verify(token, self._now(), self.max_age)

    def scope_of(self, claims: TokenClaims) -> tuple[str, dict[str, Any]]:
        """The token's scope, or ``all`` when its category is gone or no longer promotional.

        A person who clicked "unsubscribe" wants less mail; if the configuration changed
        since the message was sent, stopping all promotional mail is the safe reading.
        """
        try:
            return self.categories.opt_out_scope(claims.scope), {}
        except UserError:
            return ALL_PROMOTIONAL, {"token_scope": claims.scope, "scope_fallback": True}

    def _evidence(self, claims: TokenClaims, user_agent: str | None) -> dict[str, Any]:
        return {
            "token_id": claims.token_id,
            "key_id": claims.key_id,
            "seconds_since_minted": claims.age(self._now()),
            "user_agent": (user_agent or "")[:_USER_AGENT_MAX] or None,
        }

    # -- applying ------------------------------------------------------------------------
    def one_click(self, token: str, *, user_agent: str | None) -> Outcome:
        """RFC 8058: suppress for the token's scope, committed when this returns."""
        return self.service.record(self.one_click_request(token, user_agent=user_agent))

    def one_click_request(self, token: str, *, user_agent: str | None) -> NewRequest:
        """The validated request a one-click POST makes (nothing written yet)."""
        return self.one_click_for(self.verify(token), user_agent=user_agent)

    def one_click_for(self, claims: TokenClaims, *, user_agent: str | None) -> NewRequest:
        """As :meth:`one_click_request`, for a token the caller has verified already."""
        scope, extra = self.scope_of(claims)
        return self.service.prepare(
            claims.address,
            scope=scope,
            channel=Channel.ONE_CLICK,
            evidence_key=f"one-click:{claims.token_id}",
            evidence={**self._evidence(claims, user_agent), **extra},
        )

    def page(self, token: str) -> LinkPage:
        """What the GET page shows. Reads only: a link scanner's GET changes nothing."""
        claims = self.verify(token)
        scope, _ = self.scope_of(claims)
        cat = None if scope == ALL_PROMOTIONAL else self.categories.get(scope)
        others = [c for c in self.categories.promotional if c.name != scope]
        history = self.service.history(claims.address)
        active = {s.scope for s in history if s.lifted_at is None}
        return LinkPage(
            masked_address=mask(claims.address),
            scope=scope,
            category=cat,
            others=others if cat is not None else [],
            suppressed_scopes=sorted(active),
        )

    def confirm(
        self,
        token: str,
        *,
        choice: str,
        extra_categories: list[str],
        user_agent: str | None,
    ) -> list[Outcome]:
        """Apply the page's choice: this category (plus any ticked), or all promotional.

        Everything is validated before the first write, so a tampered form with an
        unknown or transactional category changes nothing.
        """
        claims = self.verify(token)
        scope, extra = self.scope_of(claims)
        if choice == "all" or scope == ALL_PROMOTIONAL:
            scopes = [ALL_PROMOTIONAL]
        elif choice == "this":
            scopes = [scope, *(c for c in dict.fromkeys(extra_categories) if c != scope)]
        else:
            raise UserError(f"unknown choice {choice!r}")
        evidence = {**self._evidence(claims, user_agent), **extra, "choice": choice}
        requests = [
            self.service.prepare(
                claims.address,
                scope=s,
                channel=Channel.LINK,
                evidence_key=f"link:{claims.token_id}:{s}",
                evidence=evidence,
            )
            for s in scopes
        ]
        return [self.service.record(r) for r in requests]


__all__ = ["HeadersAnswer", "InvalidToken", "LinkPage", "LinkService", "key_ring"]
