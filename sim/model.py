"""The SimPy model of a support operation: tickets, queues, skilled agents, shifts.

The hot path (arrive, start, finish, abandon) is a handful of callbacks on
SimPy timeouts; there is no process per ticket. A decision is due whenever an
idle agent could start a waiting ticket; `next_decision` runs events until one
is due and returns the feasible pairs, `apply` carries out the choice. Both
`run` (heuristics) and the Gymnasium env drive the model through these two.
"""

from __future__ import annotations

import gc
import math
from collections import deque
from collections.abc import Callable, Sequence
from heapq import heappop, heappush

import numpy as np
import simpy
from simpy.events import NORMAL

from sim.decision import Policy
from sim.draws import Stream, sampler, uniform, unit_exponential
from sim.scenario import Scenario
from sim.schedule import ArrivalSchedule, staffing_plan

WAITING, SERVING, SERVED, ABANDONED, UNRESOLVED = range(5)
OUTCOMES = ("waiting", "serving", "served", "abandoned", "unresolved")
_INF = math.inf
_CHILD_STREAM = 7  # seed-sequence tag of the draws for transferred tickets


class Ticket:
    """One contact in one queue; a transfer comes back as a new Ticket."""

    __slots__ = (
        "id", "type", "arrival", "work", "patience", "transfer_u", "counted", "state",
        "start", "end", "group", "agent", "origin", "origin_index", "depth",
    )

    def __init__(self, ticket_id: int, ticket_type: int, arrival: float, work: float,
                 patience: float, transfer_u: float, counted: bool) -> None:
        self.id = ticket_id
        self.type = ticket_type
        self.arrival = arrival
        self.work = work
        self.patience = patience
        self.transfer_u = transfer_u
        self.counted = counted
        self.state = WAITING
        self.start = math.nan
        self.end = math.nan
        self.group = -1
        self.agent = -1
        self.origin = ticket_id
        self.origin_index = -1
        self.depth = 0


class _Due(simpy.Event):
    """A triggered event with one callback, pushed on SimPy's queue without a Timeout."""

    def __init__(self, env: simpy.Environment, value: object,
                 callback: Callable[[simpy.Event], None]) -> None:
        self.env, self.callbacks, self._value, self._ok = env, [callback], value, True


class SupportModel:
    """One run of one scenario with one seed. Drive it with `run` or step by step."""

    def __init__(self, scenario: Scenario, seed: int, *, track_cost: bool = False) -> None:
        """`track_cost` keeps the running cost for `accrued_cost` (the env's reward)."""
        self.scenario, self.seed = scenario, seed
        self._track_cost = track_cost
        self.env = simpy.Environment()
        types, groups = scenario.type_names, scenario.group_names
        self.n_types, self.n_groups = len(types), len(groups)
        self.hold = self.n_types * self.n_groups
        self._static_parameters(scenario, types, groups)
        self._streams(seed)
        self._state()
        self._schedule_inputs(scenario, groups)

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
        self.transfer_cumulative = [list(np.cumsum(list(s.transfers.values()))) for s in specs]
        self.warmup = scenario.warmup_minutes
        self.horizon = scenario.horizon_minutes

    def _streams(self, seed: int) -> None:
        # One generator per (ticket type, purpose) keeps common random numbers
        # across policies; the policy's own randomness has a stream of its own.
        specs = [self.scenario.ticket_types[t] for t in self.scenario.type_names]
        root = np.random.SeedSequence(seed)
        per_type = root.spawn(len(specs))
        self.policy_rng = np.random.default_rng(root.spawn(1)[0])
        self._gap, self._work, self._patience, self._transfer_u = [], [], [], []
        for spec, seq in zip(specs, per_type, strict=True):
            gap_seq, work_seq, patience_seq, transfer_seq = seq.spawn(4)
            self._gap.append(Stream(np.random.default_rng(gap_seq), unit_exponential))
            self._work.append(Stream(np.random.default_rng(work_seq), sampler(spec.handle_minutes)))
            self._patience.append(
                Stream(np.random.default_rng(patience_seq), sampler(spec.patience_minutes))
                if spec.patience_minutes else None)
            self._transfer_u.append(
                Stream(np.random.default_rng(transfer_seq), uniform) if spec.transfers else None)
        self._child_samplers = [
            (sampler(s.handle_minutes), sampler(s.patience_minutes) if s.patience_minutes else None)
            for s in specs]

    def _state(self) -> None:
        n_types, n_groups = self.n_types, self.n_groups
        self.queues: list[deque[Ticket]] = [deque() for _ in range(n_types)]
        self.queue_length = [0] * n_types
        self._queued = 0
        self._patience_due: list[Ticket] = []
        self.idle: list[deque[int]] = [deque() for _ in range(n_groups)]
        self.idle_since: list[float] = []
        self.off_shift: list[list[int]] = [[] for _ in range(n_groups)]
        self.agent_group: list[int] = []
        self.busy = [[0] * n_types for _ in range(n_groups)]
        self.on_shift = [0] * n_groups
        self.leaving = [0] * n_groups
        self.tickets: list[Ticket] = []
        self._externals = [0] * n_types
        self._arrival_clock = [0.0] * n_types
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

    def _schedule_inputs(self, scenario: Scenario, groups: list[str]) -> None:
        env = self.env
        self.arrivals = [ArrivalSchedule.for_type(scenario, t) for t in scenario.type_names]
        for t in range(self.n_types):
            self._schedule_next_arrival(t)
        self.staffing = [staffing_plan(scenario, g) for g in groups]
        for g, plan in enumerate(self.staffing):
            for minute, count in plan:
                # Staffing changes come first at an instant, so a shift that
                # starts at an arrival's time is there to take it.
                event = simpy.Event(env)
                event._ok, event._value = True, (g, count)
                event.callbacks.append(self._staff)
                env.schedule(event, simpy.events.URGENT, minute)
        env.timeout(self.horizon).callbacks.append(self._at_horizon)

    # -- the hot path ----------------------------------------------------------

    def _schedule_next_arrival(self, t: int) -> None:
        clock = self._arrival_clock[t] = self._arrival_clock[t] + self._gap[t]()
        arrivals = self.arrivals[t]
        if arrivals.constant:  # time_of inlined for the common constant rate
            when = clock / arrivals.rates[0] if clock < arrivals.total else None
        else:
            when = arrivals.time_of(clock)
        if when is not None:
            env = self.env
            now = env._now
            heappush(env._queue, (now + (when - now if when > now else 0.0), NORMAL,
                                  next(env._eid), _Due(env, t, self._arrive)))

    def _arrive(self, event: simpy.Event) -> None:
        t = event._value
        now = self.env._now
        index = self._externals[t]
        self._externals[t] = index + 1
        patience = self._patience[t]
        transfer_u = self._transfer_u[t]
        ticket = Ticket(len(self.tickets), t, now, self._work[t](),
                        patience() if patience is not None else math.inf,
                        transfer_u() if transfer_u is not None else 1.0,
                        self.warmup <= now < self.horizon)
        ticket.origin_index = index
        self._enqueue(ticket)
        self._schedule_next_arrival(t)

    def _enqueue(self, ticket: Ticket) -> None:
        t = ticket.type
        self.tickets.append(ticket)
        if ticket.counted:
            self._open_counted += 1
        if self._draining and not any(self.on_shift[g] for g in self.groups_of[t]):
            self._resolve_unanswerable(ticket)
            return
        if self._track_cost:
            self._accrue(self.wait_cost[t])
        self.queues[t].append(ticket)
        self.queue_length[t] += 1
        self._queued += 1
        if ticket.patience != _INF:
            self._patience_due.append(ticket)
        idle, n_groups = self.idle, self.n_groups
        for g in self.groups_of[t]:
            if idle[g]:
                self._pairs.add(t * n_groups + g)
        self._changed = True

    def _start(self, pair: int) -> None:
        t, g = self.pair_type[pair], self.pair_group[pair]
        queue = self.queues[t]
        ticket = queue.popleft()
        while ticket.state != WAITING:  # abandoned tickets leave the deque lazily
            ticket = queue.popleft()
        self.queue_length[t] -= 1
        self._queued -= 1
        if self._track_cost:
            self._accrue(-self.wait_cost[t])
        idle = self.idle[g]
        agent = idle.popleft()
        if not (idle and self.queue_length[t]):
            self._pairs.discard(pair)  # no longer feasible: spare the next decision a check
        ticket.state, ticket.start, ticket.group, ticket.agent = SERVING, self.env.now, g, agent
        self.busy[g][t] += 1
        env = self.env
        heappush(env._queue, (env._now + ticket.work / self.speed[g][t], NORMAL, next(env._eid),
                              _Due(env, ticket, self._finish)))

    def _finish(self, event: simpy.Event) -> None:
        ticket: Ticket = event._value
        now = self.env.now
        t, g = ticket.type, ticket.group
        ticket.state, ticket.end = SERVED, now
        self.busy[g][t] -= 1
        if self.leaving[g]:
            self.leaving[g] -= 1
            self.off_shift[g].append(ticket.agent)
        else:
            self._agent_idles(g, ticket.agent, now)
        if self.transfer_targets[t]:
            self._maybe_transfer(ticket, now)
        self._changed = True
        if ticket.counted:
            self._close_counted()

    def _abandon(self, event: simpy.Event) -> None:
        ticket: Ticket = event._value
        if ticket.state != WAITING:  # served or resolved before patience ran out
            return
        t = ticket.type
        ticket.state, ticket.end = ABANDONED, self.env.now
        self.queue_length[t] -= 1
        self._queued -= 1
        if self._track_cost:
            self._accrue(-self.wait_cost[t])
            self._cost += self.abandon_cost[t]
        self._changed = True
        if ticket.counted:
            self._close_counted()

    def _agent_idles(self, g: int, agent: int, now: float) -> None:
        self.idle[g].append(agent)
        self.idle_since[agent] = now
        if not self._queued:
            return
        queue_length, n_groups = self.queue_length, self.n_groups
        for t in self.types_of[g]:
            if queue_length[t]:
                self._pairs.add(t * n_groups + g)

    def _accrue(self, rate_change: float) -> None:
        now = self.env.now
        self._cost += self._cost_rate * (now - self._cost_time)
        self._cost_time = now
        self._cost_rate += rate_change

    def _close_counted(self) -> None:
        self._open_counted -= 1
        if self._draining and self._open_counted == 0:
            self._finished = True

    # -- rarer events ----------------------------------------------------------

    def _maybe_transfer(self, parent: Ticket, now: float) -> None:
        t = parent.type
        target = next((k for k, threshold in zip(self.transfer_targets[t],
                                                  self.transfer_cumulative[t], strict=True)
                       if parent.transfer_u < threshold), None)
        if target is None:
            return
        # The transferred ticket's draws depend only on its origin, never on
        # when it happens to be created, so common random numbers survive.
        origin = self.tickets[parent.origin]
        rng = np.random.default_rng(
            [self.seed, _CHILD_STREAM, origin.type, origin.origin_index, parent.depth + 1])
        work_draw, patience_draw = self._child_samplers[target]
        child = Ticket(len(self.tickets), target, now, float(work_draw(rng, 1)[0]),
                       float(patience_draw(rng, 1)[0]) if patience_draw else math.inf,
                       float(rng.random()) if self.transfer_targets[target] else 1.0,
                       parent.counted)
        child.origin, child.origin_index, child.depth = parent.origin, -1, parent.depth + 1
        self._enqueue(child)

    def _staff(self, event: simpy.Event) -> None:
        g, count = event._value
        change = count - self.on_shift[g]
        self.on_shift[g] = count
        now = self.env.now
        if change > 0:
            kept = min(change, self.leaving[g])  # busy agents due to leave stay on
            self.leaving[g] -= kept
            for _ in range(change - kept):
                self._agent_idles(g, self._new_agent(g), now)
        else:
            idle, leave = self.idle[g], -change
            going_home = min(leave, len(idle))
            for _ in range(going_home):
                self.off_shift[g].append(idle.popleft())
            self.leaving[g] += leave - going_home  # they finish the ticket in hand first
        self._changed = True
        if self._draining:
            self._strand_unanswerable()

    def _new_agent(self, g: int) -> int:
        if self.off_shift[g]:
            return self.off_shift[g].pop()
        self.agent_group.append(g)
        self.idle_since.append(0.0)
        return len(self.agent_group) - 1

    def _at_horizon(self, _event: simpy.Event) -> None:
        self._draining = True
        self._strand_unanswerable()
        if self._open_counted == 0:
            self._finished = True

    def _strand_unanswerable(self) -> None:
        """After the horizon, tickets nobody left on shift can answer are unresolved."""
        for t in range(self.n_types):
            if self.queue_length[t] and not any(self.on_shift[g] for g in self.groups_of[t]):
                for ticket in self.queues[t]:
                    if ticket.state == WAITING:
                        if self._track_cost:
                            self._accrue(-self.wait_cost[t])
                        self._resolve_unanswerable(ticket)
                self.queues[t].clear()
                self._queued -= self.queue_length[t]
                self.queue_length[t] = 0

    def _resolve_unanswerable(self, ticket: Ticket) -> None:
        ticket.state, ticket.end = UNRESOLVED, self.env.now
        if ticket.counted:
            self._close_counted()

    # -- decisions ---------------------------------------------------------------

    def next_decision(self) -> list[int] | None:
        """Run events until a decision is due; its feasible pairs, or None at the end."""
        env = self.env
        queue = env._queue
        while not self._finished:
            if self._changed and self._pairs:
                feasible = self._feasible_pairs()
                if feasible:
                    return feasible
            self._changed = False
            if self._patience_due:
                self._schedule_patience()
            if not queue:
                break
            # env.step() inlined: the model's events never fail, so its
            # check for failed events is not needed here.
            env._now, _, _, event = heappop(queue)
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
        self._close()
        return None

    def _schedule_patience(self) -> None:
        env, due = self.env, self._patience_due
        for ticket in due:
            if ticket.state == WAITING:
                heappush(env._queue, (env._now + ticket.patience, NORMAL, next(env._eid),
                                      _Due(env, ticket, self._abandon)))
        due.clear()

    def _feasible_pairs(self) -> list[int]:
        queue_length, idle, pair_type, pair_group = (
            self.queue_length, self.idle, self.pair_type, self.pair_group)
        if len(self._pairs) == 1:  # the common case, without building a set
            for pair in self._pairs:
                if queue_length[pair_type[pair]] and idle[pair_group[pair]]:
                    return [pair]
            self._pairs.clear()
            return []
        feasible = [p for p in self._pairs if queue_length[pair_type[p]] and idle[pair_group[p]]]
        if len(feasible) != len(self._pairs):
            self._pairs = set(feasible)
        if len(feasible) > 1:
            feasible.sort()  # set order is arbitrary; policies see a stable order
        return feasible

    def apply(self, action: int) -> None:
        """Carry out a decision: a feasible pair, or HOLD until the next event."""
        self.decisions += 1
        if action == self.hold:
            self._changed = False
        else:
            self._start(action)

    def run(self, policy: Policy) -> SupportModel:
        """Run the whole day with one policy; returns self for chaining."""
        policy.reset(self, self.policy_rng)
        shortcut = policy.non_idling
        # The hot path makes no reference cycles (events and tickets die by
        # refcount), so the cyclic collector only rescans the live tickets.
        collecting = gc.isenabled()
        gc.disable()
        try:
            while (pairs := self.next_decision()) is not None:
                if shortcut and len(pairs) == 1:
                    self.apply(pairs[0])
                else:
                    self.apply(policy.decide(self, pairs))
        finally:
            if collecting:
                gc.enable()
        return self

    def _close(self) -> None:
        if self._closed:
            return
        self._accrue(0.0)
        for ticket in self.tickets:
            if ticket.state == WAITING:
                ticket.state, ticket.end = UNRESOLVED, self.env.now
            elif ticket.state == SERVING:
                ticket.state = UNRESOLVED
        # Nothing waits in a closed model (what waited is now unresolved).
        for queue in self.queues:
            queue.clear()
        self.queue_length = [0] * self.n_types
        self._queued = 0
        self._pairs.clear()
        self.end_time = self.env.now
        self._finished = self._closed = True

    # -- what policies and observations read -------------------------------------

    @property
    def now(self) -> float:
        return self.env.now

    @property
    def done(self) -> bool:
        return self._closed

    def idle_agents(self, group: int) -> int:
        return len(self.idle[group])

    def head_wait(self, ticket_type: int) -> float:
        """Minutes the oldest waiting ticket of a type has waited (0 if none)."""
        if not self.queue_length[ticket_type]:
            return 0.0
        # Abandoned tickets leave the deque lazily (in _start); reading skips them.
        for ticket in self.queues[ticket_type]:
            if ticket.state == WAITING:
                return self.env.now - ticket.arrival
        return 0.0

    @property
    def can_hold(self) -> bool:
        """HOLD waits for the next event; with none pending it would end the day with
        work undone and uncharged, so it is allowed only while an event is pending."""
        return bool(self.env._queue)

    def longest_idle_minutes(self, group: int) -> float:
        idle = self.idle[group]
        return self.env.now - self.idle_since[idle[0]] if idle else 0.0

    def arrival_rate(self, ticket_type: int) -> float:
        return self.arrivals[ticket_type].rate_at(self.env.now)

    def accrued_cost(self) -> float:
        """Waiting plus abandonment cost of all tickets so far (warm-up included)."""
        if not self._track_cost:
            raise RuntimeError("accrued_cost needs SupportModel(..., track_cost=True)")
        return self._cost + self._cost_rate * (self.env.now - self._cost_time)

    def head_counts(self) -> Sequence[int]:
        return self.on_shift
