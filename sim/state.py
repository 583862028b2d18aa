"""The state of one run: its constants, what it holds now, what policies may read, and forks.

Everything that changes during a run is a flat list, deque, set or dict of
small numbers (ticket and agent indices, counts, times), so a fork is a
handful of list copies. The event calendar is a SimPy Environment's: `now` is
its clock and `env.peek()` the next event, and its queue holds plain
(time, priority, id, kind, argument) entries, run by `sim.model`.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections import deque
from collections.abc import Sequence
from heapq import heappush
from typing import Self

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

from sim.arrivals import BLOCK, FORK_BLOCK, ArrivalSource, BlockGenerators
from sim.draws import Sampler, sampler
from sim.scenario import Scenario
from sim.schedule import ArrivalSchedule, staffing_plan
from sim.tickets import SERVING, WAITING, TicketColumns

ARRIVE, FINISH, ABANDON, STAFF, HORIZON, STOP = range(6)  # kinds of calendar entries
_FORK_STREAM = 0x666F726B  # seed-sequence tag of a fork's fresh streams
_BLIND_STREAM = 0x626C6E64  # ... and of a blind fork's redraws of what is held


class ModelState:
    """Constants, current state and the read-only view of one run (see `sim.model`)."""

    def __init__(self, scenario: Scenario, seed: int, *, track_cost: bool = False) -> None:
        """`track_cost` keeps the running cost for `accrued_cost` (the env's reward)."""
        self.scenario, self.seed = scenario, seed
        self._track_cost = track_cost
        self._child_key: tuple[int, ...] = (seed,)
        self.env = simpy.Environment()
        types, groups = scenario.type_names, scenario.group_names
        self.n_types, self.n_groups = len(types), len(groups)
        self.hold = self.n_types * self.n_groups
        self._static_parameters(scenario, types, groups)
        self.arrivals = [ArrivalSchedule.for_type(scenario, t) for t in types]
        self.staffing = [staffing_plan(scenario, g) for g in groups]
        self._state()
        self._streams(np.random.SeedSequence(seed))
        self._schedule_inputs()

    # -- construction --------------------------------------------------------

    def _static_parameters(self, scenario: Scenario, types: list[str], groups: list[str]) -> None:
        specs = [scenario.ticket_types[t] for t in types]
        n_groups = self.n_groups
        self.pair_type = [p // n_groups for p in range(self.hold)]
        self.pair_group = [p % n_groups for p in range(self.hold)]
        self.speed = [[scenario.agent_groups[g].skills.get(t, 0.0) for t in types] for g in groups]
        self.service_rate = [
            [s / spec.handle_minutes.mean for s, spec in zip(row, specs, strict=True)]
            for row in self.speed
        ]
        self.types_of = [[t for t in range(self.n_types) if row[t] > 0] for row in self.speed]
        self.groups_of = [[g for g in range(n_groups) if self.speed[g][t] > 0]
                          for t in range(self.n_types)]
        self.wait_cost = [s.wait_cost_per_minute for s in specs]
        self.abandon_cost = [s.abandon_cost for s in specs]
        self.abandon_rate = [1 / s.patience_minutes.mean if s.patience_minutes else 0.0
                             for s in specs]
        self.sla_minutes = [s.sla_minutes if s.sla_minutes is not None else math.inf for s in specs]
        self.has_patience = [s.patience_minutes is not None for s in specs]
        index = {name: i for i, name in enumerate(types)}
        self.transfer_targets = [[index[k] for k in s.transfers] for s in specs]
        # For the hot path: (group, pair) by type, (type, pair) by group, speed by pair.
        self._type_pairs = [[(g, t * n_groups + g) for g in self.groups_of[t]]
                            for t in range(self.n_types)]
        self._group_pairs = [[(t, t * n_groups + g) for t in self.types_of[g]]
                             for g in range(n_groups)]
        self._pair_speed = [self.speed[g][t] for t, g in zip(self.pair_type, self.pair_group,
                                                              strict=True)]
        self.transfer_cumulative = [list(np.cumsum(list(s.transfers.values()))) for s in specs]
        self._samplers = [(sampler(s.handle_minutes),
                           sampler(s.patience_minutes) if s.patience_minutes else None)
                          for s in specs]
        self.warmup = scenario.warmup_minutes
        self.horizon = scenario.horizon_minutes

    def _streams(self, root: np.random.SeedSequence) -> None:
        # One generator per (ticket type, purpose) keeps common random numbers
        # across policies; the policy's own randomness has a stream of its own.
        per_type = root.spawn(self.n_types)
        self._policy_seed: np.random.SeedSequence | list[int] = root.spawn(1)[0]
        self._policy_rng: np.random.Generator | None = None
        self._sources = []
        for t, seq in enumerate(per_type):
            rngs = tuple(np.random.default_rng(s) for s in seq.spawn(4))
            self._sources.append(self._source(t, lambda _block, rngs=rngs: rngs))

    def _fork_streams(self, seed: int, scheduled: Sequence[tuple[float | None, float]]) -> None:
        # A fork may be one of thousands: one generator draws the first (small) block
        # of every type, in type order; a later block of a type has a generator of its
        # own, keyed by (seed, type, block), so forks of one seed agree whatever runs.
        first = np.random.default_rng([_FORK_STREAM, seed])
        self._policy_seed, self._policy_rng = [_FORK_STREAM, seed, self.n_types], None

        def generators(t: int) -> BlockGenerators:
            def of_block(block: int) -> tuple[np.random.Generator, ...]:
                rng = first if block == 0 else np.random.default_rng([_FORK_STREAM, seed, t, block])
                return (rng,) * 4
            return of_block

        self._sources = [self._source(t, generators(t), scheduled[t], FORK_BLOCK)
                         for t in range(self.n_types)]

    def _source(self, t: int, generators: BlockGenerators,
                scheduled: tuple[float | None, float] | None = None,
                size: int = BLOCK) -> ArrivalSource:
        work, patience = self._samplers[t]
        return ArrivalSource(self.arrivals[t], generators,
                             (work, patience, bool(self.transfer_targets[t])),
                             first=scheduled, size=size)

    @property
    def policy_rng(self) -> np.random.Generator:
        """The policy's own random numbers (made when first asked for: most never ask)."""
        if self._policy_rng is None:
            self._policy_rng = np.random.default_rng(self._policy_seed)
        return self._policy_rng

    def _state(self) -> None:
        n_types, n_groups = self.n_types, self.n_groups
        self.tickets = TicketColumns()
        self.queues: list[deque[int]] = [deque() for _ in range(n_types)]  # ticket indices
        self.queue_length = [0] * n_types
        self._queued = 0
        self._patience_due: list[tuple[int, float]] = []  # (ticket, patience) to schedule
        self._transfer_u: dict[int, float] = {}  # tickets of types that transfer
        self.idle: list[deque[int]] = [deque() for _ in range(n_groups)]  # agent indices
        self.idle_since: list[float] = []
        self.off_shift: list[list[int]] = [[] for _ in range(n_groups)]
        self.agent_group: list[int] = []
        self.busy = [[0] * n_types for _ in range(n_groups)]
        self.on_shift = [0] * n_groups
        self.leaving = [0] * n_groups
        self._externals = [0] * n_types
        self._pairs: set[int] = set()
        self._changed = False
        self._draining = False
        self._finished = False
        self._closed = False
        self._open_counted = 0
        self._cost = 0.0
        self._cost_rate = 0.0
        self._cost_time = 0.0
        self.decisions = 0

    def _schedule_inputs(self) -> None:
        queue, eid = self.env._queue, self.env._eid
        for t, source in enumerate(self._sources):
            if source.at[0] is not None:
                queue.append((source.at[0], NORMAL, next(eid), ARRIVE, t))
        for g, plan in enumerate(self.staffing):
            for minute, count in plan:
                # Staffing changes come first at an instant, so a shift that
                # starts at an arrival's time is there to take it.
                queue.append((minute, URGENT, next(eid), STAFF, (g, count)))
        queue.append((self.horizon, NORMAL, next(eid), HORIZON, None))
        queue.sort()

    # -- forks -----------------------------------------------------------------

    def fork(self, seed: int, *, blind: bool = False) -> Self:
        """A copy of this run as it stands, whose future is drawn afresh from `seed`.

        It copies the clock, pending events, queues, agents and tickets (those in
        service keep their finish times, the next arrival of each type its time);
        all that is not drawn yet (later arrivals, what the next ones bring,
        transfers, the policy's randomness) comes from new streams of `seed`, so a
        fork never sees its parent's future, and forks with one seed agree.

        What is drawn already but a router could not know, a `blind` fork draws
        anew too (a look-ahead that must not be clairvoyant): the next arrival of
        each type (from now), the work of waiting tickets, whether a ticket will
        transfer, the rest of each service given the work done so far, and the
        rest of each waiting ticket's patience given its wait so far.
        """
        other = object.__new__(type(self))
        shared = {k: v for k, v in vars(self).items() if k not in _COPIED}
        vars(other).update(shared)
        other.seed, other._child_key = seed, (_FORK_STREAM, seed)
        env = other.env = simpy.Environment(self.env._now)
        env._queue = list(self.env._queue)
        env._eid = itertools.count(max((entry[2] for entry in env._queue), default=-1) + 1)
        other.tickets = self.tickets.copy()
        other.queues = [deque(q) for q in self.queues]
        other.idle = [deque(q) for q in self.idle]
        other.off_shift = [list(x) for x in self.off_shift]
        other.busy = [list(row) for row in self.busy]
        for name in ("queue_length", "_patience_due", "idle_since", "agent_group", "on_shift",
                     "leaving", "_externals"):
            setattr(other, name, list(getattr(self, name)))
        other._transfer_u, other._pairs = dict(self._transfer_u), set(self._pairs)
        scheduled = [(s.at[s.k], s.clock[s.k]) for s in self._sources]
        if not blind:
            other._fork_streams(seed, scheduled)
            return other
        rng = np.random.default_rng([_FORK_STREAM, seed, _BLIND_STREAM])
        now = self.env._now
        for t, (at, _) in enumerate(scheduled):
            if at is not None:
                clock = _clock_at(self.arrivals[t], now) + rng.exponential()
                scheduled[t] = (self.arrivals[t].time_of(clock), clock)
        other._fork_streams(seed, scheduled)
        other._forget_held(rng)
        return other

    def _forget_held(self, rng: np.random.Generator) -> None:
        """Redraw, given what a router sees, what this (new) fork holds already drawn."""
        tickets, now = self.tickets, self.env._now
        state, kind_of = tickets.state, tickets.type
        for t, waiting in enumerate(self.queues):
            for i in waiting:
                if state[i] == WAITING:
                    tickets.work[i] = float(self._samplers[t][0](rng, 1)[0])
        for i in self._transfer_u:
            if state[i] <= SERVING:  # not over yet (WAITING is 0, SERVING 1)
                self._transfer_u[i] = float(rng.random())
        self._patience_due = [(i, _rest(self._samplers[kind_of[i]][1], rng,
                                        now - tickets.arrival[i]))
                              for i, _ in self._patience_due]
        queue = []
        # In an order of their own (the heap's depends on the times), so that forks of
        # two runs that stand alike but hold different draws redraw alike.
        for entry in sorted(self.env._queue, key=_held_order):
            when, priority, eid, kind, i = entry
            if kind == ARRIVE:
                continue
            if kind == FINISH and state[i] == SERVING:
                speed = self.speed[tickets.group[i]][kind_of[i]]
                done = (now - tickets.start[i]) * speed
                when = now + _rest(self._samplers[kind_of[i]][0], rng, done) / speed
            elif kind == ABANDON and state[i] == WAITING:
                when = now + _rest(self._samplers[kind_of[i]][1], rng, now - tickets.arrival[i])
            queue.append((when, priority, eid, kind, i))
        for t, source in enumerate(self._sources):
            if source.at[0] is not None:
                queue.append((source.at[0], NORMAL, next(self.env._eid), ARRIVE, t))
        heapq.heapify(queue)
        self.env._queue = queue

    def open_window(self, end: float) -> None:
        """Make this run (a fork, as a look-ahead uses it) a window that ends at `end`.

        The cost is counted afresh from now: nothing accrued yet, the tickets
        waiting now charged from now on; at `end` the run stops (`next_decision`
        returns None) and `accrued_cost` is the window's waiting plus abandonment
        cost, those still waiting charged up to `end`. Works whether or not the
        run tracked cost before. A window past the horizon ends with the run.
        """
        self._track_cost = True
        self._cost, self._cost_time = 0.0, self.env._now
        self._cost_rate = sum(n * c for n, c in zip(self.queue_length, self.wait_cost, strict=True))
        heappush(self.env._queue, (end, NORMAL, next(self.env._eid), STOP, None))

    # -- what policies and observations read -------------------------------------

    @property
    def now(self) -> float:
        return self.env._now

    @property
    def done(self) -> bool:
        return self._closed

    def idle_agents(self, group: int) -> int:
        return len(self.idle[group])

    def head_wait(self, ticket_type: int) -> float:
        """Minutes the oldest waiting ticket of a type has waited (0 if none)."""
        if not self.queue_length[ticket_type]:
            return 0.0
        # Abandoned tickets leave the deque lazily (when an agent takes the next); skip them.
        state = self.tickets.state
        for i in self.queues[ticket_type]:
            if state[i] == WAITING:
                return self.env._now - self.tickets.arrival[i]
        return 0.0

    @property
    def can_hold(self) -> bool:
        """HOLD waits for the next event; with none pending it would end the day with
        work undone and uncharged, so it is allowed only while an event is pending."""
        return bool(self.env._queue)

    def longest_idle_minutes(self, group: int) -> float:
        idle = self.idle[group]
        return self.env._now - self.idle_since[idle[0]] if idle else 0.0

    def arrival_rate(self, ticket_type: int) -> float:
        return self.arrivals[ticket_type].rate_at(self.env._now)

    def accrued_cost(self) -> float:
        """Waiting plus abandonment cost of all tickets so far (warm-up included)."""
        if not self._track_cost:
            raise RuntimeError("accrued_cost needs SupportModel(..., track_cost=True)")
        return self._cost + self._cost_rate * (self.env._now - self._cost_time)


def _held_order(entry: tuple) -> tuple[int, int, float]:
    kind = entry[3]
    return kind, entry[4] if kind in (FINISH, ABANDON) else 0, entry[0]


def _clock_at(schedule: ArrivalSchedule, minute: float) -> float:
    """The integrated arrival rate of a schedule up to `minute`."""
    if minute >= schedule.end:
        return schedule.total
    i = bisect.bisect_right(schedule.starts, minute) - 1
    return schedule.cumulative[i] + schedule.rates[i] * (minute - schedule.starts[i])


def _rest(draw: Sampler | None, rng: np.random.Generator, elapsed: float) -> float:
    """What remains of a duration of `draw`'s law that has lasted `elapsed` already.

    Drawn from the law conditioned on exceeding `elapsed` (by rejection, in
    batches); an exponential duration forgets its past, and deep in a tail where
    rejection would take too long the rest is drawn as if it did too.
    """
    if draw is None:
        return math.inf
    for _ in range(4):
        values = draw(rng, 256)
        longer = values[values > elapsed]
        if len(longer):
            return float(longer[0]) - elapsed
    return float(rng.exponential(float(draw(rng, 256).mean())))


# What a fork copies or makes anew; everything else (constants) it shares.
_COPIED = frozenset({
    "seed", "_child_key", "env", "tickets", "queues", "idle", "off_shift", "busy", "queue_length",
    "_patience_due", "idle_since", "agent_group", "on_shift", "leaving", "_externals",
    "_transfer_u", "_pairs", "_policy_seed", "_policy_rng", "_sources",
})
