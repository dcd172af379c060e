"""The fast check path answers exactly what the service's rules answer (both backends)."""

from __future__ import annotations

from worker.checks import CheckService
from worker.core.model import Channel
from worker.service import OptoutService
from worker.store.fast import FastReads


def test_bulk_check_keeps_every_spelling_and_lists_invalid(service: OptoutService) -> None:
    service.record(service.prepare("a@example.com", channel=Channel.PHONE))
    service.record(service.prepare("b@example.com", scope="offers", channel=Channel.PHONE))
    reads = FastReads(service.store.engine)
    try:
        checks = CheckService(service.categories, reads)
        asked = ["A@Example.com", "a@example.com", "b@example.com", "c@example.com", "nope"]
        answer = checks.suppressed_among(asked, "newsletter")
        assert sorted(answer.suppressed) == ["A@Example.com", "a@example.com"]
        assert answer.invalid == ["nope"]
        assert answer.checked == 5
        assert sorted(checks.suppressed_among(asked, "offers").suppressed) == [
            "A@Example.com", "a@example.com", "b@example.com",
        ]  # fmt: skip
        assert checks.suppressed_among(asked, "account").suppressed == []
        assert sorted(answer.suppressed) == sorted(
            service.suppressed_among(asked[:4], "newsletter")
        )
    finally:
        reads.close()
