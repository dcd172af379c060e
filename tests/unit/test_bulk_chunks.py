"""How multi-row INSERTs are cut: every row once, and few distinct statement texts (each
distinct text is a prepared statement the driver keeps, so memory stays flat)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from worker.store.bulk import _LADDER, _chunk_sizes


@given(st.integers(0, 20_000), st.integers(1, 1_000))
def test_every_row_once_in_few_shapes(n: int, per_stmt: int) -> None:
    sizes = _chunk_sizes(n, per_stmt)
    assert sum(sizes) == n
    assert all(0 < s <= per_stmt for s in sizes)
    assert set(sizes) <= {per_stmt, *_LADDER}
    # greedy: a ladder size at most three times, else the next size up would fit
    smaller = [s for s in sizes if s != per_stmt]
    assert all(smaller.count(step) <= 3 for step in _LADDER)


def test_a_thousand_row_counts_make_at_most_six_statement_texts() -> None:
    shapes = {s for n in range(1, 1_001) for s in _chunk_sizes(n, 1_000)}
    assert shapes == {1_000, *_LADDER}
