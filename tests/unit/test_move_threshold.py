"""How many committed messages the poller gathers before each move of a pass."""

from __future__ import annotations

from worker.poller import MOVE_EVERY, MOVE_MAX, move_threshold


def test_the_first_moves_of_a_pass_wait_for_the_least() -> None:
    assert move_threshold(0) == MOVE_EVERY
    assert move_threshold(MOVE_EVERY - 1) == MOVE_EVERY


def test_later_moves_wait_for_as_many_as_were_moved_up_to_the_cap() -> None:
    assert move_threshold(1_500) == 1_500
    assert move_threshold(MOVE_MAX + 1) == MOVE_MAX
    assert move_threshold(10**9) == MOVE_MAX


def test_the_number_of_moves_grows_slowly_with_the_backlog() -> None:
    """Gathering by the threshold: a 10,000-message pass makes 6 moves (not 20), and
    40,000 make 12 (not 80), the last one being whatever is left."""

    def moves(backlog: int, batch: int = 500) -> list[int]:
        sizes, handed, committed = [], 0, 0
        for start in range(0, backlog, batch):
            committed += min(batch, backlog - start)
            if committed >= move_threshold(handed):
                sizes.append(committed)
                handed, committed = handed + committed, 0
        return sizes + ([committed] if committed else [])

    assert moves(10_000) == [500, 500, 1_000, 2_000, 4_000, 2_000]
    assert len(moves(40_000)) == 12
    assert sum(moves(40_000)) == 40_000
    assert max(moves(40_000)) == MOVE_MAX
    assert moves(300) == [300]


def test_bounds_are_the_callers() -> None:
    assert move_threshold(0, least=10, most=40) == 10
    assert move_threshold(25, least=10, most=40) == 25
    assert move_threshold(100, least=10, most=40) == 40
