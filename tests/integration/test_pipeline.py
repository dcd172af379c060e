"""The poll pipeline on a real Dovecot, several batches in flight: whatever stops a pass
(the database going away, a stop request), every message ends up processed exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.intake import messages as m
from tests.integration.conftest import SourceFactory
from tests.integration.dovecot import Dovecot
from worker.classifier import ClassifierPool
from worker.errors import DatabaseUnavailable
from worker.intake import IntakePolicy, IntakeService
from worker.poller import Poller
from worker.service import OptoutService

N = 130  # batches of 20: seven, the last one short


def reply(n: int) -> bytes:
    return m.reply(
        "Please unsubscribe me.",
        sender=f"Reader {n} <reader{n}@example.org>",
        message_id=f"<pipe-{n}@example.org>",
    )


@pytest.fixture
def intake(service: OptoutService) -> IntakeService:
    return IntakeService(service, None, IntakePolicy())


def suppressed(service: OptoutService) -> int:
    return sum(not service.check(f"reader{n}@example.org", "newsletter").allowed for n in range(N))


@pytest.mark.parametrize("workers", [0, 2])
async def test_a_backlog_goes_through_once_in_order_of_batches(
    dovecot: Dovecot, make_source: SourceFactory, intake: IntakeService, workers: int
) -> None:
    dovecot.drop(reply(n) for n in range(N))
    pool = ClassifierPool(workers, min_items=4).start()
    try:
        stats = await Poller(make_source(), intake, batch=20, pool=pool).poll_once()
    finally:
        pool.close()
    assert (stats.fetched, stats.new) == (N, N)
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids("optout.processed")) == N
    assert suppressed(intake.service) == N
    assert len(intake.service.requests()) == N


async def test_database_down_mid_pass_loses_and_repeats_nothing(
    dovecot: Dovecot,
    make_source: SourceFactory,
    intake: IntakeService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.drop(reply(n) for n in range(N))
    real = intake.commit_many
    calls = 0

    def flaky(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise DatabaseUnavailable("connection refused")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "commit_many", flaky)
    source = make_source()
    poller = Poller(source, intake, batch=20)
    with pytest.raises(DatabaseUnavailable):
        await poller.poll_once()
    assert len(intake.service.requests()) == 40  # two batches, all of each
    moved = len(dovecot.uids("optout.processed"))
    assert moved == 40  # what was committed before the failure is moved, nothing more
    assert len(dovecot.uids("INBOX")) + moved == N

    monkeypatch.setattr(intake, "commit_many", real)
    stats = await poller.poll_once()  # the same session: what was handed out comes back
    assert stats.fetched == N - moved
    assert stats.new == N - 40  # committed but not moved: recognised, only moved
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids("optout.processed")) == N
    assert len(intake.service.requests()) == N
    assert suppressed(intake.service) == N


async def test_a_stop_request_finishes_the_batch_in_hand_and_leaves_the_rest(
    dovecot: Dovecot, make_source: SourceFactory, intake: IntakeService
) -> None:
    dovecot.drop(reply(n) for n in range(N))
    source = make_source()
    poller = Poller(source, intake, batch=20)
    real = intake.commit_many

    def then_stop(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        poller.stop.set()  # SIGTERM arrives while the first batch commits
        return result

    intake.commit_many = then_stop  # type: ignore[method-assign]
    stats = await poller.poll_once()
    assert stats.fetched == 20
    assert len(dovecot.uids("optout.processed")) == 20  # committed and moved
    assert len(dovecot.uids("INBOX")) == N - 20  # untouched, for the next pass
    assert len(intake.service.requests()) == 20

    intake.commit_many = real  # type: ignore[method-assign]
    restarted = Poller(make_source(), intake, batch=20)
    again = await restarted.poll_once()
    assert (again.fetched, again.new) == (N - 20, N - 20)
    assert dovecot.uids("INBOX") == []
    assert len(intake.service.requests()) == N


def count_moves(source: Any, intake: IntakeService) -> list[int]:
    """The size of each move the source makes from now on (the list fills as it goes);
    each is checked to hold only committed messages (rule 8: one request per reply)."""
    sizes: list[int] = []
    real = source.settle_many

    async def counted(items: list[tuple[object, object]]) -> None:
        assert len(intake.service.requests()) >= sum(sizes) + len(items)
        sizes.append(len(items))
        await real(items)

    source.settle_many = counted
    return sizes


async def test_committed_messages_are_moved_in_few_large_commands(
    dovecot: Dovecot, make_source: SourceFactory, intake: IntakeService
) -> None:
    """A move costs the server a sync of the whole folder, so the poller gathers
    committed batches (20 here) into moves of at least ``move_every`` (50), and the
    remainder goes at the end of the pass, not at the next one. (The second move may
    wait for as many as the first moved, 60: here that is what it gets anyway.)"""
    dovecot.drop(reply(n) for n in range(N))
    source = make_source()
    sizes = count_moves(source, intake)
    stats = await Poller(source, intake, batch=20, move_every=50).poll_once()
    assert stats.fetched == N
    assert sizes == [60, 60, 10]
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids("optout.processed")) == N

    dovecot.drop([reply(N)])  # a pass with one new reply moves it in the same pass
    sizes.clear()
    again = await Poller(source, intake, batch=20, move_every=50).poll_once()
    assert (again.fetched, sizes) == (1, [1])
    assert dovecot.uids("INBOX") == []


async def test_moves_grow_with_the_pass_up_to_their_cap(
    dovecot: Dovecot, make_source: SourceFactory, intake: IntakeService
) -> None:
    """Each move waits for as many committed messages as the pass has moved so far, from
    ``move_every`` up to ``move_max``: a long backlog costs the server few folder syncs,
    the first replies of a pass are moved as soon as before, and every message is moved
    once, after its commit."""
    dovecot.drop(reply(n) for n in range(N))
    source = make_source()
    sizes = count_moves(source, intake)
    stats = await Poller(source, intake, batch=10, move_every=10, move_max=40).poll_once()
    assert stats.fetched == N
    assert sizes == [10, 10, 20, 40, 40, 10]
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids("optout.processed")) == N


async def test_the_holiday_calendar_is_built_before_the_first_commit_needs_it(
    dovecot: Dovecot, make_source: SourceFactory, intake: IntakeService
) -> None:
    """Once the first batch is handed to the classifier, the pass has the database
    thread load the calendar (a one-off) while it waits: here the only message is an
    out-of-office reply, which asks for no deadline, and the calendar is built."""
    calendar = intake.service.policy.calendar
    assert calendar.loaded_years == frozenset()  # built (or read) on first use
    dovecot.drop([m.OUT_OF_OFFICE])
    poller = Poller(make_source(), intake)
    try:
        stats = await poller.poll_once()
    finally:
        await poller.close()
    assert stats.by_class == {"auto_reply": 1}
    assert intake.service.requests() == []
    poller._db.shutdown(wait=True)
    year = calendar.local_day(intake.clock.now()).year
    assert calendar.loaded_years == {year - 1, year, year + 1}
