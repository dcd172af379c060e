"""What the classifier answers, in a module of its own that imports nothing heavy.

The classifier's modules build these, and the rest of the application reads them: the
intake commit, the review list, the poller that receives them from the classifier
processes. Kept apart from :mod:`worker.core.classify`, whose import compiles several
hundred patterns (0.1 s), a process that only reads answers (``optout poll``'s parent,
unpickling what its classifier process sends) never imports the classifier itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: messages larger than this are not parsed: ``other``, with the size as evidence
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class MessageClass(enum.StrEnum):
    """What an inbound message is; the service maps each to an outcome."""

    UNSUBSCRIBE = "unsubscribe"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    AUTO_REPLY = "auto_reply"
    PRIVACY_REQUEST = "privacy_request"
    OTHER = "other"


@dataclass(init=False, unsafe_hash=True)
class Classification:
    """The classifier's answer, with everything the service needs to act and to audit.

    ``addresses`` are the addresses the outcome applies to: the failed recipients of a
    bounce, the complainant of a complaint, the sender of an unsubscribe or privacy
    request. ``tokens`` are raw and unverified; verifying them is the service's job.

    A value: nothing assigns to its fields after construction (mypy would let it, so
    keep it so). It is no frozen dataclass because of its ``__init__``, below.
    """

    message_class: MessageClass
    confidence: float
    evidence: tuple[str, ...]
    sender: str | None = None
    addresses: tuple[str, ...] = ()
    bounce_kind: str | None = None
    feedback_type: str | None = None
    suppresses: bool = False
    privacy_kinds: tuple[str, ...] = ()
    privacy_optout: bool = False
    tokens: tuple[str, ...] = ()
    authentication_failed: bool = False
    message_id: str | None = None
    other_addresses_in_body: tuple[str, ...] = ()
    machine: bool = False
    #: the family member a request is about ("my wife"), when it is not the sender's own
    on_behalf: str | None = None
    #: why delivery failed (bounces.CAUSE_TEXT's keys): a hard bounce's is the address's
    #: own (no_such_user, no_such_domain, moved, permanent); mailbox_full, blocked, … are
    #: soft bounces whatever their 5.x.x status (see bounces.failure_cause)
    bounce_cause: str | None = None

    def __init__(
        self,
        message_class: MessageClass,
        confidence: float,
        evidence: tuple[str, ...],
        sender: str | None = None,
        addresses: tuple[str, ...] = (),
        bounce_kind: str | None = None,
        feedback_type: str | None = None,
        suppresses: bool = False,
        privacy_kinds: tuple[str, ...] = (),
        privacy_optout: bool = False,
        tokens: tuple[str, ...] = (),
        authentication_failed: bool = False,
        message_id: str | None = None,
        other_addresses_in_body: tuple[str, ...] = (),
        machine: bool = False,
        on_behalf: str | None = None,
        bounce_cause: str | None = None,
    ) -> None:
        # Written out, in field order (test_classification_init_is_the_fields holds the
        # two together): compiled (mypyc), it stores each field directly, where a
        # frozen dataclass's generated __init__ is interpreted Python calling
        # object.__setattr__ once a field: 25,000 instructions a Classification, two a
        # message, 3 % of its classification
        self.message_class = message_class
        self.confidence = confidence
        self.evidence = evidence
        self.sender = sender
        self.addresses = addresses
        self.bounce_kind = bounce_kind
        self.feedback_type = feedback_type
        self.suppresses = suppresses
        self.privacy_kinds = privacy_kinds
        self.privacy_optout = privacy_optout
        self.tokens = tokens
        self.authentication_failed = authentication_failed
        self.message_id = message_id
        self.other_addresses_in_body = other_addresses_in_body
        self.machine = machine
        self.on_behalf = on_behalf
        self.bounce_cause = bounce_cause

    def __reduce__(self) -> tuple[type[Classification], tuple[object, ...]]:
        # pickled out of the classifier processes, rebuilt by call (compiled, a class
        # refuses pickle's attribute-by-attribute rebuild); the fields in __init__'s
        # order, read directly (dataclasses.fields is interpreted: 2 µs a message)
        return (
            Classification,
            (
                self.message_class,
                self.confidence,
                self.evidence,
                self.sender,
                self.addresses,
                self.bounce_kind,
                self.feedback_type,
                self.suppresses,
                self.privacy_kinds,
                self.privacy_optout,
                self.tokens,
                self.authentication_failed,
                self.message_id,
                self.other_addresses_in_body,
                self.machine,
                self.on_behalf,
                self.bounce_cause,
            ),
        )


@dataclass(frozen=True, slots=True)
class Prepared:
    """The classifier's answer, the subject for the review list, the body's digest."""

    classification: Classification
    subject: str | None
    sha256: str

    def __reduce__(self) -> tuple[type[Prepared], tuple[object, ...]]:
        # rebuilt by call after pickling, as Classification is (see there)
        return (Prepared, (self.classification, self.subject, self.sha256))
