"""Domain values that travel between layers: frozen dataclasses and enums, no dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """How a request reached us; part of the evidence of every opt-out."""

    LINK = "link"  # GET page + confirm
    ONE_CLICK = "one-click"  # RFC 8058 POST
    EMAIL = "email"  # reply or mail to the unsubscribe address
    PHONE = "phone"
    MANUAL = "manual"
    IMPORT = "import"
    API = "api"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    NEEDS_REVIEW = "needs-review"
    DISMISSED = "dismissed"


class Reason(StrEnum):
    """Why an address is suppressed; what a check answers as ``reason``."""

    OPT_OUT = "opt-out"
    HARD_BOUNCE = "hard-bounce"
    COMPLAINT = "complaint"
    PRIVACY = "privacy"


class AuditKind(StrEnum):
    RECEIVED = "received"
    CLASSIFIED = "classified"
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    CONFIRMED = "confirmed"
    REVIEWED = "reviewed"
    DISMISSED = "dismissed"
    LIFTED = "lifted"
    IMPORTED = "imported"
    FORGOTTEN = "forgotten"
    ALERTED = "alerted"
    #: a soft bounce of one recipient, under that recipient's address hash
    BOUNCED = "bounced"


@dataclass(frozen=True)
class ActiveSuppression:
    scope: str
    since: datetime
    reason: Reason
    request_id: int | None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    category: str
    reason: Reason | None = None
    since: datetime | None = None
    request_id: int | None = None
    scope: str | None = None


@dataclass(frozen=True)
class NewRequest:
    """An opt-out as received, before it is recorded."""

    address: str  # normalised
    scope: str
    channel: Channel
    received_at: datetime
    evidence_key: str | None = None
    actor: str | None = None
    note: str | None = None
    reason: Reason = Reason.OPT_OUT
    evidence: dict[str, Any] = field(default_factory=dict)
    needs_review: bool = False


@dataclass(frozen=True)
class RequestView:
    id: int
    channel: Channel
    address: str | None
    address_hash: str
    scope: str
    received_at: datetime
    deadline: datetime
    warn_at: datetime
    status: RequestStatus
    applied_at: datetime | None
    actor: str | None
    note: str | None
    evidence_key: str | None
    evidence: dict[str, Any]


@dataclass(frozen=True)
class SuppressionView:
    id: int
    address: str | None
    address_hash: str
    scope: str
    reason: Reason
    since: datetime
    request_id: int | None
    channel: Channel | None
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None
    updated_at: datetime


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    kind: AuditKind
    request_id: int | None
    address_hash: str | None
    address_masked: str | None
    channel: str | None
    actor: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What recording a request did; the CLI and API answer with it."""

    request: RequestView
    created: bool  # False: the evidence key was seen before, nothing changed
    suppression_created: bool
