"""The SimPy model of a support operation: tickets, queues, skilled agents, shifts.

Events are entries on a SimPy Environment's calendar, in SimPy's order (time,
priority, insertion), without an Event object each: arrivals and finishes,
nine in ten events, are handled inline in one loop; abandonments, shift
changes and the horizon by small methods. A decision is due whenever an idle
agent could start a waiting ticket; `next_decision` runs events until one is
due and returns the feasible pairs, `apply` carries out the choice. `run`
(heuristics) and the Gymnasium env drive the model through these two; `run`
starts a lone feasible pair of a non-idling policy without leaving the loop.
"""

from __future__ import annotations

import gc
import math
from heapq import heappop, heappush

from simpy.events import NORMAL

from sim.decision import Policy
from sim.events import RareEvents
from sim.scenario import Scenario
from sim.state import ABANDON, ARRIVE, FINISH, HORIZON, STAFF
from sim.tickets import (
    ABANDONED,
    OUTCOMES,
    SERVED,
    SERVING,
    UNRESOLVED,
    WAITING,
    Ticket,
    TicketColumns,
)

__all__ = ["ABANDONED", "OUTCOMES", "SERVED", "SERVING", "UNRESOLVED", "WAITING", "SupportModel",
           "Ticket", "TicketColumns"]

_INF = math.inf


class SupportModel(RareEvents):
    """One run of one scenario with one seed. Drive it with `run` or step by step."""

    def __init__(self, scenario: Scenario, seed: int, *, track_cost: bool = False) -> None:
        """`track_cost` keeps the running cost for `accrued_cost` (the env's reward)."""
        super().__init__(scenario, seed, track_cost=track_cost)

    # -- decisions ---------------------------------------------------------------

    def next_decision(self) -> list[int] | None:
        """Run events until a decision is due; its feasible pairs, or None at the end."""
        return self._advance(False)

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
        autostart = policy.non_idling
        # The hot path makes no reference cycles, so the cyclic collector would
        # only rescan live objects; it is off while the day runs.
        collecting = gc.isenabled()
        gc.disable()
        try:
            while (pairs := self._advance(autostart)) is not None:
                self.apply(policy.decide(self, pairs))
        finally:
            if collecting:
                gc.enable()
        return self

    def _advance(self, autostart: bool) -> list[int] | None:
        """Run events until a decision is due, or the end (None).

        With `autostart` (a non-idling policy) a decision with one feasible pair
        is taken here, as the policy would take it. The bodies below are those of
        `_start`, `_enqueue` and `_agent_idles`, inlined: a call each costs more
        than the work it does. The `# [...]` marks tell benchmarks.where which part
        of the work a line belongs to.
        """
        env = self.env
        queue, eid = env._queue, env._eid
        tickets = self.tickets
        type_of, arrival_of, work_of, counted_of = (
            tickets.type, tickets.arrival, tickets.work, tickets.counted)
        state, start_of, end_of, group_of, agent_of = (
            tickets.state, tickets.start, tickets.end, tickets.group, tickets.agent)
        queues, queue_length, idle, idle_since, busy = (
            self.queues, self.queue_length, self.idle, self.idle_since, self.busy)
        pair_type, pair_group, pair_speed = self.pair_type, self.pair_group, self._pair_speed
        type_pairs, group_pairs, transfer_targets = (
            self._type_pairs, self._group_pairs, self.transfer_targets)
        sources, leaving = self._sources, self.leaving
        warmup, horizon, track_cost = self.warmup, self.horizon, self._track_cost
        pairs = self._pairs
        now = env._now
        decided = 0  # decisions taken here, added to self.decisions on the way out
        while not self._finished:  # [decisions]
            if self._changed and pairs:
                if len(pairs) == 1:  # the common case, without building a list
                    for pair in pairs:  # noqa: B007 (the one element of the set)
                        break
                    t = pair_type[pair]
                    if not (queue_length[t] and idle[pair_group[pair]]):
                        pairs.clear()
                    elif not autostart:
                        self.decisions += decided
                        return [pair]
                    else:  # [starts] _start(pair), inlined
                        decided += 1
                        g = pair_group[pair]
                        waiting = queues[t]
                        i = waiting.popleft()
                        while state[i]:  # not WAITING: abandoned tickets leave the deque lazily
                            i = waiting.popleft()
                        queue_length[t] -= 1
                        self._queued -= 1
                        if track_cost:
                            self._accrue(-self.wait_cost[t])
                        free = idle[g]
                        agent = free.popleft()
                        if not (free and queue_length[t]):
                            pairs.discard(pair)
                        state[i] = SERVING
                        start_of[i] = now
                        group_of[i] = g
                        agent_of[i] = agent
                        busy[g][t] += 1
                        heappush(queue, (now + work_of[i] / pair_speed[pair], NORMAL, next(eid),
                                         FINISH, i))
                        continue
                else:  # [decisions]
                    feasible = self._feasible_pairs()
                    if feasible:
                        if not (autostart and len(feasible) == 1):
                            self.decisions += decided
                            return feasible
                        self.apply(feasible[0])
                        continue
            self._changed = False  # [event calendar]
            if self._patience_due:
                self._schedule_patience()
            if not queue:
                break
            now, _, _, kind, arg = heappop(queue)
            env._now = now
            if kind == FINISH:
                i = arg  # [finishes]
                t = type_of[i]
                g = group_of[i]
                state[i] = SERVED
                end_of[i] = now
                busy[g][t] -= 1
                agent = agent_of[i]
                if leaving[g]:
                    leaving[g] -= 1
                    self.off_shift[g].append(agent)
                else:  # _agent_idles, inlined
                    idle[g].append(agent)
                    idle_since[agent] = now
                    if self._queued:
                        for k, pair in group_pairs[g]:
                            if queue_length[k]:
                                pairs.add(pair)
                if transfer_targets[t]:
                    self._maybe_transfer(i, now)
                self._changed = True
                if counted_of[i]:  # _close_counted, inlined
                    self._open_counted -= 1
                    if self._draining and not self._open_counted:
                        self._finished = True
            elif kind == ARRIVE:  # [arrivals]
                t = arg
                source = sources[t]
                k = source.k
                i = tickets.n
                if i == len(state):
                    tickets.grow()
                tickets.n = i + 1
                counted = warmup <= now < horizon
                type_of[i] = t
                arrival_of[i] = now
                work_of[i] = source.work[k]
                counted_of[i] = counted
                if transfer_targets[t]:
                    self._arrival_transfers(i, t, source.transfer_u[k])
                if counted:
                    self._open_counted += 1
                if self._draining:
                    patience = source.patience[k] if source.patience is not None else _INF
                    self._enqueue(i, patience, counted_already=True)
                else:  # _enqueue, inlined
                    if track_cost:
                        self._accrue(self.wait_cost[t])
                    queues[t].append(i)
                    queue_length[t] += 1
                    self._queued += 1
                    if source.patience is not None:
                        self._patience_due.append((i, source.patience[k]))
                    for g, pair in type_pairs[t]:
                        if idle[g]:
                            pairs.add(pair)
                    self._changed = True
                k += 1
                if k == source.size:
                    source.refill()
                    k = 0
                source.k = k
                at = source.at[k]
                if at is not None:
                    heappush(queue, (at, NORMAL, next(eid), ARRIVE, t))
            elif kind == ABANDON:  # [other events]
                self._abandon(arg)
            elif kind == STAFF:
                self._staff(*arg)
            elif kind == HORIZON:
                self._at_horizon()
            else:  # STOP: the end of a look-ahead's window (`open_window`)
                self._finished = True
        self.decisions += decided
        self._close()
        return None

    def _feasible_pairs(self) -> list[int]:
        queue_length, idle, pair_type, pair_group = (
            self.queue_length, self.idle, self.pair_type, self.pair_group)
        pairs = self._pairs
        feasible = [p for p in pairs if queue_length[pair_type[p]] and idle[pair_group[p]]]
        if len(feasible) != len(pairs):
            pairs.intersection_update(feasible)
        if len(feasible) > 1:
            feasible.sort()  # set order is arbitrary; policies see a stable order
        return feasible

    def _start(self, pair: int) -> None:
        t, g = self.pair_type[pair], self.pair_group[pair]
        tickets = self.tickets
        queue, state = self.queues[t], tickets.state
        i = queue.popleft()
        while state[i] != WAITING:  # abandoned tickets leave the deque lazily
            i = queue.popleft()
        self.queue_length[t] -= 1
        self._queued -= 1
        if self._track_cost:
            self._accrue(-self.wait_cost[t])
        idle = self.idle[g]
        agent = idle.popleft()
        if not (idle and self.queue_length[t]):
            self._pairs.discard(pair)  # no longer feasible: spare the next decision a check
        env = self.env
        now = env._now
        state[i], tickets.start[i], tickets.group[i], tickets.agent[i] = SERVING, now, g, agent
        self.busy[g][t] += 1
        heappush(env._queue, (now + tickets.work[i] / self._pair_speed[pair], NORMAL,
                              next(env._eid), FINISH, i))
