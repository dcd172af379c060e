"""The question marketing systems ask: may category C go to address A?"""

from __future__ import annotations

from collections.abc import Iterable

from worker.core.categories import Categories
from worker.core.model import ActiveSuppression, Decision


def may_send(
    categories: Categories, category: str, active: Iterable[ActiveSuppression]
) -> Decision:
    """Decide from the address's active suppressions.

    When several suppressions block, the oldest one is reported: "since when" is the
    question compliance asks, and the first opt-out is the one that counts.
    """
    blocking = set(categories.scopes_blocking(category))
    hits = sorted((s for s in active if s.scope in blocking), key=lambda s: s.since)
    if not hits:
        return Decision(allowed=True, category=category)
    first = hits[0]
    return Decision(
        allowed=False,
        category=category,
        reason=first.reason,
        since=first.since,
        request_id=first.request_id,
        scope=first.scope,
    )
