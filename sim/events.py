"""The model's rarer work: queueing a ticket the slow way, abandonments, transfers, shifts,
the horizon and the end of the run, and the running cost.

`sim.model` handles arrivals, starts and finishes inline in its loop and calls
these for the rest.
"""

from __future__ import annotations

import math
from heapq import heappush

import numpy as np
from simpy.events import NORMAL

from sim.state import ABANDON, FINISH, ModelState
from sim.tickets import ABANDONED, SERVING, UNRESOLVED, WAITING

_INF = math.inf
_CHILD_STREAM = 7  # seed-sequence tag of the draws for transferred tickets


class RareEvents(ModelState):
    """Event handlers and bookkeeping off the hot path (see `sim.model.SupportModel`)."""

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
