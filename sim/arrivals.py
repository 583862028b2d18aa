"""Arrivals of one ticket type, drawn a block at a time: when each comes and what it brings.

The k-th arrival of a type takes the k-th value of each of the type's streams
(gap, work, patience, transfer), whatever happens in the run, so a block of
the next arrivals can be drawn at once with numpy and the hot path only reads
lists. This is what keeps common random numbers across policies.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.draws import Sampler
from sim.schedule import ArrivalSchedule

# The gap, work, patience and transfer generators of the n-th block of a source.
BlockGenerators = Callable[[int], tuple[np.random.Generator, ...]]
BLOCK = 2048
FORK_BLOCK = 32  # a fork's first block: rollouts are often short, so its blocks start small


class ArrivalSource:
    """The next `size` arrivals of one type; `at[k]` is None once arrivals have ended.

    `at[k]` is the event time of arrival k of the block, `clock[k]` its
    integrated rate, `work[k]`, `patience[k]` and `transfer_u[k]` what it
    brings (patience and transfer lists are None for types without them).
    """

    __slots__ = ("schedule", "_generators", "_samplers", "_block", "k", "size", "at", "clock",
                 "work", "patience", "transfer_u")

    def __init__(self, schedule: ArrivalSchedule, generators: BlockGenerators,
                 samplers: tuple[Sampler, Sampler | None, bool], *,
                 first: tuple[float | None, float] | None = None, size: int = BLOCK) -> None:
        """`generators`: the gap, work, patience and transfer generators of each block
        (a run's are the same four every block); `samplers`: work, patience
        (None if the type never abandons) and whether the type transfers. `first`
        is the (time, clock) of an arrival already scheduled (a fork keeps it; time
        None if arrivals had ended). Blocks double from `size` up to BLOCK; the values
        do not depend on the block size, as each stream is read in order."""
        self.schedule, self._generators, self._samplers = schedule, generators, samplers
        self.k, self.size, self._block = 0, size, 0
        self._fill(0.0, 0.0, first)

    def refill(self) -> None:
        """The next block, once the last arrival of this one has happened."""
        self.size = min(2 * self.size, BLOCK)
        self._block += 1
        self._fill(self.at[-1], self.clock[-1], None)
        self.k = 0

    def _fill(self, previous_at: float, previous_clock: float,
              first: tuple[float, float] | None) -> None:
        gap_rng, work_rng, patience_rng, transfer_rng = self._generators(self._block)
        work_draw, patience_draw, transfers = self._samplers
        size = n = self.size
        if first is not None:  # a fork: this arrival is already scheduled, the rest are new
            previous_at, previous_clock = first
            n -= 1
        clocks = np.cumsum(np.concatenate(([previous_clock], gap_rng.exponential(1.0, n))))[1:]
        at = self._event_times(previous_at, clocks)
        if first is not None:
            at.insert(0, first[0])
            clocks = np.concatenate(([first[1]], clocks))
        self.at, self.clock = at, clocks.tolist()
        self.work = work_draw(work_rng, size).tolist()
        self.patience = patience_draw(patience_rng, size).tolist() if patience_draw else None
        self.transfer_u = transfer_rng.random(size).tolist() if transfers else None

    def _event_times(self, previous: float | None, clocks: np.ndarray) -> list[float | None]:
        """Invert the integrated rate; each arrival is scheduled from the one before it
        (now + (when - now)), exactly as a one-at-a-time draw would have done."""
        schedule = self.schedule
        if previous is None:  # arrivals had ended
            return [None] * len(clocks)
        valid = clocks < schedule.total
        inside = clocks[valid]
        if schedule.constant:
            when = inside / schedule.rates[0]
        else:
            cumulative = schedule.cumulative_array
            i = np.searchsorted(cumulative, inside, side="right") - 1
            when = schedule.starts_array[i] + (inside - cumulative[i]) / schedule.rates_array[i]
        at = _scheduled(previous, when)
        if len(at) < len(clocks):
            at.extend([None] * (len(clocks) - len(at)))
        return at


def _scheduled(previous: float, when: np.ndarray) -> list[float | None]:
    """Event times of arrivals due at `when`, each scheduled at the one before (`previous`
    first) as now + (when - now), or now if when <= now.

    When now <= when <= 2 now (or now = 0), when - now is exact (Sterbenz), so the
    event time is `when` itself: true of nearly every arrival, which spares the
    loop; the rest (first arrivals, jumps over quiet hours) take it.
    """
    before = np.concatenate(([previous], when[:-1]))
    if np.all((when >= before) & ((when <= 2.0 * before) | (before == 0.0))):
        return when.tolist()
    at: list[float | None] = []
    append = at.append
    for w in when.tolist():
        previous = previous + (w - previous) if w > previous else previous + 0.0
        append(previous)
    return at
