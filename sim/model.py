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

import numpy as np
from simpy.events import NORMAL

from sim.decision import Policy
from sim.scenario import Scenario
from sim.state import ABANDON, ARRIVE, FINISH, STAFF, ModelState
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
_CHILD_STREAM = 7  # seed-sequence tag of the draws for transferred tickets


class SupportModel(ModelState):
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
            else:
                self._at_horizon()
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

    def _enqueue(self, i: int, patience: float, *, counted_already: bool = False) -> None:
        t = self.tickets.type[i]
        if self.tickets.counted[i] and not counted_already:
            self._open_counted += 1
        if self._draining and not any(self.on_shift[g] for g in self.groups_of[t]):
            self._resolve_unanswerable(i)
            return
        if self._track_cost:
            self._accrue(self.wait_cost[t])
        self.queues[t].append(i)
        self.queue_length[t] += 1
        self._queued += 1
        if patience != _INF:
            self._patience_due.append((i, patience))
        idle, n_groups = self.idle, self.n_groups
        for g in self.groups_of[t]:
            if idle[g]:
                self._pairs.add(t * n_groups + g)
        self._changed = True

    def _arrival_transfers(self, i: int, t: int, transfer_u: float) -> None:
        """What an arrival of a type that transfers keeps for its transfer draw."""
        self.tickets.origin_index[i] = self._externals[t]
        self._externals[t] += 1
        self._transfer_u[i] = transfer_u

    def _schedule_patience(self) -> None:
        env, due, state = self.env, self._patience_due, self.tickets.state
        now, queue, eid = env._now, env._queue, env._eid
        for i, patience in due:
            if state[i] == WAITING:
                heappush(queue, (now + patience, NORMAL, next(eid), ABANDON, i))
        due.clear()

    # -- rarer events ----------------------------------------------------------

    def _abandon(self, i: int) -> None:
        tickets = self.tickets
        if tickets.state[i] != WAITING:  # served or resolved before patience ran out
            return
        t = tickets.type[i]
        tickets.state[i], tickets.end[i] = ABANDONED, self.env._now
        self.queue_length[t] -= 1
        self._queued -= 1
        if self._track_cost:
            self._accrue(-self.wait_cost[t])
            self._cost += self.abandon_cost[t]
        self._changed = True
        if tickets.counted[i]:
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
        now = self.env._now
        self._cost += self._cost_rate * (now - self._cost_time)
        self._cost_time = now
        self._cost_rate += rate_change

    def _close_counted(self) -> None:
        self._open_counted -= 1
        if self._draining and self._open_counted == 0:
            self._finished = True

    def _maybe_transfer(self, parent: int, now: float) -> None:
        tickets = self.tickets
        t = tickets.type[parent]
        u = self._transfer_u[parent]
        target = next((k for k, threshold in zip(self.transfer_targets[t],
                                                  self.transfer_cumulative[t], strict=True)
                       if u < threshold), None)
        if target is None:
            return
        # The transferred ticket's draws depend only on its origin, never on
        # when it happens to be created, so common random numbers survive.
        origin = tickets.origin.get(parent, parent)
        depth = tickets.depth.get(parent, 0) + 1
        rng = np.random.default_rng(
            [*self._child_key, _CHILD_STREAM, tickets.type[origin], tickets.origin_index[origin],
             depth])
        work_draw, patience_draw = self._samplers[target]
        work = float(work_draw(rng, 1)[0])
        patience = float(patience_draw(rng, 1)[0]) if patience_draw else _INF
        child = tickets.add(target, now, work, tickets.counted[parent])
        if self.transfer_targets[target]:
            self._transfer_u[child] = float(rng.random())
        tickets.origin[child], tickets.depth[child] = origin, depth
        self._enqueue(child, patience)

    def _staff(self, g: int, count: int) -> None:
        change = count - self.on_shift[g]
        self.on_shift[g] = count
        now = self.env._now
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

    def _at_horizon(self) -> None:
        self._draining = True
        self._strand_unanswerable()
        if self._open_counted == 0:
            self._finished = True

    def _strand_unanswerable(self) -> None:
        """After the horizon, tickets nobody left on shift can answer are unresolved."""
        state = self.tickets.state
        for t in range(self.n_types):
            if self.queue_length[t] and not any(self.on_shift[g] for g in self.groups_of[t]):
                for i in self.queues[t]:
                    if state[i] == WAITING:
                        if self._track_cost:
                            self._accrue(-self.wait_cost[t])
                        self._resolve_unanswerable(i)
                self.queues[t].clear()
                self._queued -= self.queue_length[t]
                self.queue_length[t] = 0

    def _resolve_unanswerable(self, i: int) -> None:
        tickets = self.tickets
        tickets.state[i], tickets.end[i] = UNRESOLVED, self.env._now
        if tickets.counted[i]:
            self._close_counted()

    def _close(self) -> None:
        if self._closed:
            return
        self._accrue(0.0)
        now, state, end = self.env._now, self.tickets.state, self.tickets.end
        # Waiting tickets are in the queues, tickets in service have a finish pending.
        for queue in self.queues:
            for i in queue:
                if state[i] == WAITING:
                    state[i], end[i] = UNRESOLVED, now
            queue.clear()  # nothing waits in a closed model (what waited is unresolved)
        for entry in self.env._queue:
            if entry[3] == FINISH and state[entry[4]] == SERVING:
                state[entry[4]] = UNRESOLVED
        self.queue_length[:] = [0] * self.n_types
        self._queued = 0
        self._pairs.clear()
        self.end_time = now
        self._finished = self._closed = True
