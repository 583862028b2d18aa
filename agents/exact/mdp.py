"""The routing problem of a small scenario as a uniformised continuous-time MDP.

State: queue length per ticket type (truncated at a cap; an arrival to a full
queue is lost) and busy agents per (agent group, ticket type). After every
event the policy starts feasible (type, group) pairs one at a time, or holds;
the chain then moves from the post-decision state at rates

    arrival of t: lambda_t          abandonment of t: q_t * theta_t
    completion of (g, t): busy_gt * mu_gt, then a transfer t -> k with p_tk

and cost accrues at sum_t q_t (wait_cost_t + abandon_cost_t * theta_t) per
minute, plus a charge for arrivals lost at a full queue (`lost_cost`).
Uniformising at LAMBDA = sum lambda + sum cap * theta + sum over groups of
agents * fastest rate (a bound on every state's total event rate; the empty
system always falls short of it, so the chain has self-loops and is
aperiodic) turns it into a discrete-time MDP with one step = 1/LAMBDA minutes
on average. Only small instances fit: the state count is the product of
(cap + 1) over types and the number of busy vectors of each group.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from agents.errors import PolicyError
from sim.scenario import Scenario


@dataclass(frozen=True)
class Rates:
    """The numbers of a scenario the MDP needs, per minute; types x groups as in the model."""

    scenario: str
    type_names: tuple[str, ...]
    group_names: tuple[str, ...]
    arrival: np.ndarray  # (T,) tickets per minute
    abandon: np.ndarray  # (T,) 1 / mean patience, 0 if tickets never abandon
    wait_cost: np.ndarray  # (T,) per ticket-minute
    abandon_cost: np.ndarray  # (T,) per abandonment
    service: np.ndarray  # (G, T) completions per minute per busy agent, 0 if unskilled
    agents: np.ndarray  # (G,) constant head counts
    transfer: np.ndarray  # (T, T) probability that a served t comes back as k

    @property
    def holding_cost(self) -> np.ndarray:
        """Cost per minute of one waiting ticket, abandonment cost included in expectation."""
        return self.wait_cost + self.abandon_cost * self.abandon

    def inflow(self) -> np.ndarray:
        """Arrivals per minute per type including transfers, if every ticket were served."""
        n = len(self.arrival)
        try:
            return np.linalg.solve(np.eye(n) - self.transfer.T, self.arrival)
        except np.linalg.LinAlgError:
            raise PolicyError(f"{self.scenario}: transfers: some tickets are transferred "
                              "forever") from None


def rates_of(scenario: Scenario) -> Rates:
    """Check that the exact solver applies to a scenario and read its rates.

    Raises PolicyError with one line naming what is out of reach.
    """
    where = scenario.name
    if scenario.events:
        raise PolicyError(f"{where}: events: the exact solver needs constant rates and head "
                          "counts (no surges or absences)")
    types, groups = scenario.type_names, scenario.group_names
    for name, spec in scenario.ticket_types.items():
        field = f"{where}: ticket_types.{name}"
        if spec.hourly_profile is not None:
            raise PolicyError(f"{field}.hourly_profile: the exact solver needs constant arrival "
                              "rates")
        if spec.handle_minutes.dist != "exponential":
            raise PolicyError(f"{field}.handle_minutes: {spec.handle_minutes.dist} handle times; "
                              "the exact solver needs exponential ones")
        patience = spec.patience_minutes
        if patience is not None and patience.dist != "exponential":
            raise PolicyError(f"{field}.patience_minutes: {patience.dist} patience; the exact "
                              "solver needs exponential (or no) patience")
    for name, group in scenario.agent_groups.items():
        if group.shifts is not None:
            raise PolicyError(f"{where}: agent_groups.{name}.shifts: the exact solver needs a "
                              "constant head count (agents: N)")
    specs = [scenario.ticket_types[t] for t in types]
    index = {t: i for i, t in enumerate(types)}
    transfer = np.zeros((len(types), len(types)))
    for i, spec in enumerate(specs):
        for target, p in spec.transfers.items():
            transfer[i, index[target]] = p
    return Rates(
        scenario=scenario.name,
        type_names=tuple(types),
        group_names=tuple(groups),
        arrival=np.array([s.arrivals_per_hour / 60.0 for s in specs]),
        abandon=np.array([1.0 / s.patience_minutes.mean if s.patience_minutes else 0.0
                          for s in specs]),
        wait_cost=np.array([s.wait_cost_per_minute for s in specs]),
        abandon_cost=np.array([s.abandon_cost for s in specs]),
        service=np.array([[scenario.agent_groups[g].skills.get(t, 0.0)
                           / scenario.ticket_types[t].handle_minutes.mean for t in types]
                          for g in groups]),
        agents=np.array([scenario.agent_groups[g].agents or 0 for g in groups], dtype=np.int64),
        transfer=transfer,
    )


def busy_vectors(skilled: Sequence[bool], agents: int) -> np.ndarray:
    """Every way `agents` agents can be busy on their skilled types (row = busy per type)."""
    columns = [t for t, ok in enumerate(skilled) if ok]
    rows = [combo for combo in itertools.product(range(agents + 1), repeat=len(columns))
            if sum(combo) <= agents]
    vectors = np.zeros((len(rows), len(skilled)), dtype=np.int64)
    if columns:
        vectors[:, columns] = np.array(rows, dtype=np.int64).reshape(len(rows), len(columns))
    return vectors


def state_count(rates: Rates, caps: Sequence[int]) -> int:
    counts = [math.comb(int(n) + int(np.count_nonzero(row)), int(np.count_nonzero(row)))
              for n, row in zip(rates.agents, rates.service, strict=True)]
    return math.prod(int(c) + 1 for c in caps) * math.prod(counts)


class StateSpace:
    """Mixed-radix numbering of (queue lengths, one busy vector per group).

    Digits: one per ticket type (0..cap), then one per group (index of its
    busy vector in `vectors[g]`). Every number stands for a valid state.
    """

    def __init__(self, rates: Rates, caps: Sequence[int]) -> None:
        self.caps = np.array(caps, dtype=np.int64)
        self.n_types, self.n_groups = len(rates.arrival), len(rates.agents)
        self.vectors = [busy_vectors(rates.service[g] > 0, int(rates.agents[g]))
                        for g in range(self.n_groups)]
        self.vector_index = [{tuple(v): i for i, v in enumerate(vs)} for vs in self.vectors]
        dims = [int(c) + 1 for c in self.caps] + [len(vs) for vs in self.vectors]
        self.strides = np.array([math.prod(dims[i + 1:]) for i in range(len(dims))],
                                dtype=np.int64)
        self.size = math.prod(dims)
        digits = np.unravel_index(np.arange(self.size), dims)
        self.queue = np.stack(digits[: self.n_types], axis=1)  # (S, T)
        self.vector = np.stack(digits[self.n_types:], axis=1)  # (S, G)
        self.busy = np.stack([self.vectors[g][self.vector[:, g]]
                              for g in range(self.n_groups)], axis=1)  # (S, G, T)

    def index_of(self, queue_length: Sequence[int], busy: Sequence[Sequence[int]]) -> int:
        """The state of the simulator's (queue_length, busy); queues beyond a cap are capped."""
        s = 0
        for t in range(self.n_types):
            s += min(queue_length[t], int(self.caps[t])) * int(self.strides[t])
        for g in range(self.n_groups):
            s += self.vector_index[g][tuple(busy[g])] * int(self.strides[self.n_types + g])
        return s

    def neighbour(self, g: int, t: int, step: int) -> np.ndarray:
        """The state with one more (step=1) or one fewer (-1) busy agent of g on t; -1 if none."""
        vectors = self.vectors[g]
        moved = vectors.copy()
        moved[:, t] += step
        table = np.array([self.vector_index[g].get(tuple(v), -1) for v in moved])
        target = table[self.vector[:, g]]
        return np.where(target >= 0, np.arange(self.size)
                        + (target - self.vector[:, g]) * self.strides[self.n_types + g], -1)


class RoutingMDP:
    """The uniformised MDP of one scenario at given queue caps.

    `step_cost` and `transitions` describe one uniformised step out of a
    post-decision state; `levels` lists, by decreasing number of busy agents,
    which states can start which pair and where that leads, so that the best
    post-decision state reachable from every state is one sweep (`minimise`).
    """

    def __init__(self, rates: Rates, caps: Sequence[int]) -> None:
        self.rates = rates
        self.space = space = StateSpace(rates, caps)
        self.n_types, self.n_groups = space.n_types, space.n_groups
        self.hold = self.n_types * self.n_groups
        self.size = space.size
        queue = space.queue
        self.uniformisation = float(  # events per minute at the busiest state
            rates.arrival.sum() + (rates.abandon * space.caps).sum()
            + (rates.agents * rates.service.max(axis=1)).sum())
        # Per minute, in each post-decision state. An arrival lost at a full
        # queue is charged what a ticket that is never answered costs, so the
        # policy gains nothing by keeping a queue full on purpose.
        at_cap = queue >= space.caps
        self.cost_rate = queue @ rates.holding_cost + at_cap @ (rates.arrival * self.lost_cost())
        self.step_cost = self.cost_rate / self.uniformisation
        self.transitions = self._transitions()
        self.levels = self._levels()
        self.decision_states = np.zeros(self.size, dtype=bool)  # some pair could start
        for level in self.levels:
            self.decision_states[level.states] = True

    def lost_cost(self) -> np.ndarray:
        """Charge per arrival lost at a full queue of each type.

        A ticket that abandons before service costs wait_cost / theta +
        abandon_cost on average; one that never abandons is charged its wait
        behind a full queue drained by every agent able to serve it.
        """
        rates, caps = self.rates, self.space.caps
        capacity = rates.agents @ rates.service
        with np.errstate(divide="ignore", invalid="ignore"):
            gives_up = rates.holding_cost / rates.abandon
            waits = rates.wait_cost * (caps + 1) / capacity
        return np.where(rates.abandon > 0, gives_up, waits)

    def _transitions(self) -> sp.csr_matrix:
        rates, space = self.rates, self.space
        states = np.arange(self.size)
        queue, busy, caps, strides = space.queue, space.busy, space.caps, space.strides
        rows, cols, data = [], [], []

        def add(rate: np.ndarray, target: np.ndarray) -> None:
            keep = rate > 0
            rows.append(states[keep])
            cols.append(target[keep])
            data.append(rate[keep])

        for t in range(self.n_types):
            full = queue[:, t] >= caps[t]
            add(np.full(self.size, rates.arrival[t]), np.where(full, states, states + strides[t]))
            add(queue[:, t] * rates.abandon[t], states - strides[t])
        for g in range(self.n_groups):
            for t in range(self.n_types):
                if rates.service[g, t] == 0:
                    continue
                done = busy[:, g, t] * rates.service[g, t]
                freed = space.neighbour(g, t, -1)
                stay = 1.0 - rates.transfer[t].sum()
                add(done * stay, freed)
                for k in np.flatnonzero(rates.transfer[t]):
                    full = queue[:, k] >= caps[k]
                    add(done * rates.transfer[t, k], np.where(full, freed, freed + strides[k]))
        out = np.zeros(self.size)
        for r, d in zip(rows, data, strict=True):
            np.add.at(out, r, d)
        add(self.uniformisation - out, states)  # the fictitious self-loop
        probability = np.concatenate(data) / self.uniformisation
        matrix = sp.coo_matrix((probability, (np.concatenate(rows), np.concatenate(cols))),
                               shape=(self.size, self.size))
        return matrix.tocsr()

    def _levels(self) -> list[Level]:
        space = self.space
        total_busy = space.busy.sum(axis=(1, 2))
        starts = []
        for t in range(self.n_types):
            for g in range(self.n_groups):
                if self.rates.service[g, t] == 0:
                    continue
                taken = space.neighbour(g, t, +1)
                ok = (space.queue[:, t] > 0) & (taken >= 0)
                starts.append((t * self.n_groups + g, ok, taken - space.strides[t]))
        levels = []
        for level in range(int(total_busy.max()), -1, -1):
            here = total_busy == level
            can_start = np.zeros(self.size, dtype=bool)
            for _pair, ok, _target in starts:
                can_start |= here & ok
            states = np.flatnonzero(can_start)
            if not len(states):
                continue
            options = []
            for pair, ok, target in starts:
                mine = ok[states]
                options.append((pair, np.flatnonzero(mine), target[states[mine]]))
            levels.append(Level(states, options))
        return levels

    # -- Bellman operators -------------------------------------------------------

    def minimise(self, value: np.ndarray) -> np.ndarray:
        """The least `value` over post-decision states reachable from each state."""
        best = value.copy()
        for level in self.levels:
            lowest = value[level.states]
            for _pair, rows, target in level.options:
                lowest[rows] = np.minimum(lowest[rows], best[target])
            best[level.states] = lowest
        return best

    def greedy(self, value: np.ndarray, current: np.ndarray | None = None,
               tol: float = 0.0) -> np.ndarray:
        """The decision (pair or hold) in each state that reaches the least `value`.

        Within `tol` of the least, `current` is kept when given; otherwise
        starting work is preferred to holding, then the lowest pair index.
        """
        best = value.copy()
        action = np.full(self.size, self.hold, dtype=np.int64)
        for level in self.levels:
            states = level.states
            table = np.full((len(states), self.hold + 1), np.inf)
            table[:, self.hold] = value[states]
            for pair, rows, target in level.options:
                table[rows, pair] = best[target]
            lowest = table.min(axis=1)
            best[states] = lowest
            pick = table[:, : self.hold].argmin(axis=1)
            start_value = table[np.arange(len(states)), pick]
            choice = np.where(value[states] < start_value - tol, self.hold, pick)
            if current is not None:
                kept = current[states]
                keep = table[np.arange(len(states)), kept] <= lowest + tol
                choice[keep] = kept[keep]
            action[states] = choice
        return action

    def post_states(self, action: np.ndarray) -> np.ndarray:
        """Where each state ends up after the decisions of `action`, taken one by one."""
        post = np.arange(self.size)
        for level in self.levels:
            chosen = action[level.states]
            for pair, rows, target in level.options:
                mine = rows[chosen[rows] == pair]
                post[level.states[mine]] = post[target[np.searchsorted(rows, mine)]]
        return post


@dataclass(frozen=True)
class Level:
    """States with the same number of busy agents that can start some pair.

    `options` holds, per pair, the rows of `states` that can start it and the
    state each of those rows moves to (one more busy agent, so an earlier level).
    """

    states: np.ndarray
    options: list[tuple[int, np.ndarray, np.ndarray]]
