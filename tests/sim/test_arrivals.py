"""Arrivals drawn a block at a time, and tickets kept as columns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.arrivals import ArrivalSource, _scheduled
from sim.draws import sampler
from sim.model import SupportModel
from sim.scenario import Distribution, load_scenario
from sim.schedule import ArrivalSchedule
from sim.tickets import CHUNK, WAITING, TicketColumns


def one_at_a_time(previous: float, when: np.ndarray) -> list[float]:
    """The scheduling rule as a model drawing one arrival at a time applies it."""
    out = []
    for w in when.tolist():
        previous = previous + (w - previous) if w > previous else previous + 0.0
        out.append(previous)
    return out


@pytest.mark.parametrize("previous, scale", [(0.0, 1.0), (0.1, 0.001), (5.0, 100.0),
                                             (1e6, 1.0), (3.0, -0.001)])
def test_block_event_times_equal_one_at_a_time_to_the_bit(previous, scale):
    rng = np.random.default_rng(7)
    for _ in range(200):
        when = previous + np.cumsum(rng.exponential(abs(scale), rng.integers(1, 60)))
        if scale < 0:  # times that go back (rounding at a rate change) keep the clock
            when = previous - np.cumsum(rng.exponential(-scale, len(when)))
        if rng.random() < 0.3:
            when[rng.integers(len(when))] = previous * rng.choice([0.5, 1.0, 2.0, 3.0])
        assert _scheduled(previous, when) == one_at_a_time(previous, when)


def _stream(size: int) -> list[tuple[float | None, float, float]]:
    schedule = ArrivalSchedule([0.0, 60.0, 120.0], [0.5, 0.0, 2.0], 600.0)
    rngs = tuple(np.random.default_rng(s) for s in np.random.SeedSequence(4).spawn(4))
    work = sampler(Distribution(dist="gamma", mean=3.0, cv=0.7))
    source = ArrivalSource(schedule, lambda _block: rngs, (work, None, True), size=size)
    out = []
    while source.at[source.k] is not None:
        out.append((source.at[source.k], source.work[source.k], source.transfer_u[source.k]))
        source.k += 1
        if source.k == source.size:
            source.refill()
    return out


def test_values_do_not_depend_on_the_block_size():
    # A quiet hour (rate 0) in between: the arrival after it is scheduled across the gap.
    small, large = _stream(8), _stream(2048)
    assert len(small) > 500
    assert small == large
    assert all(not 60.0 <= at < 120.0 for at, _, _ in small)


def test_columns_grow_copy_and_read_back():
    columns = TicketColumns()
    first = columns.add(1, 2.5, 4.0, True)
    for _ in range(CHUNK):
        columns.add(0, 3.0, 1.0, False)
    assert len(columns) == CHUNK + 1 and len(columns.state) == 2 * CHUNK
    columns.state[first], columns.start[first] = 2, 7.0
    copy = columns.copy()
    columns.start[first] = 9.0  # the copy has lists of its own
    ticket = copy[first]
    assert (ticket.type, ticket.arrival, ticket.work, ticket.counted, ticket.state,
            ticket.start, ticket.origin, ticket.depth) == (1, 2.5, 4.0, True, 2, 7.0, 0, 0)
    assert copy[-1].state == WAITING and math.isnan(copy[-1].end)
    arrays = copy.arrays()
    assert arrays["type"].dtype == np.int32 and len(arrays["type"]) == CHUNK + 1
    assert arrays["counted"].sum() == 1 and arrays["start"][first] == 7.0


def test_a_run_keeps_no_more_rows_than_tickets_in_its_table():
    model = SupportModel(load_scenario("mmc"), 0)
    assert len(model.tickets) == 0
    model.next_decision()
    assert len(model.tickets) == 1 and model.tickets[0].state == WAITING
