"""A stronger teacher for the warm start: an index rule tuned on training days.

The index of a pair is `weight[type] x service_rate[group][type]`: with the
wait costs as weights it is c-mu, with wait cost + abandonment cost x
abandonment rate it is c-mu on the holding cost. `tune_index` starts from the
better of the two and searches the weights coordinate by coordinate in log
space, judging every candidate on the same training days (common random
numbers, so differences are the rule's). Where HOLD is allowed it also
searches two reservations per pair of a multi-skilled group: a queue
threshold and a number of agents kept free (trunk reservation), the shapes
the exact optimum takes on n_model, keep_free and w_model. The network then
imitates the tuned rule and PPO starts from there. Training days only: the
evaluation days and the final comparison seeds are never seen by the search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.heuristics import Heuristic
from sim.decision import DecisionView
from sim.metrics import summary_rows, ticket_table
from sim.model import SupportModel
from sim.scenario import Scenario
from sim.schedule import staffing_plan

STEPS = (0.7, 0.35, 0.15)  # log-weight steps: x2, x1.4, x1.16
MAX_RESERVE = 6  # tickets: a queue threshold above this is never worth trying


class WeightedIndex(Heuristic):
    """weight[type] x service rate of the pair; ties as every heuristic breaks them.

    Two optional reservations per pair p = (t, g), both "start p only while":
    more than `reserve[p]` tickets of type t wait (a queue threshold), and
    more than `keep_free[p]` agents of g are idle (trunk reservation: the last
    free agents are kept for other work). If every feasible pair is held back
    the rule holds.
    """

    name = "tuned_index"
    summary = "per-type weight x service rate, weights tuned on training days"

    def __init__(self, weights: Sequence[float], reserve: Sequence[int] | None = None,
                 keep_free: Sequence[int] | None = None) -> None:
        self.weights = [float(w) for w in weights]
        self.reserve = [int(r) for r in reserve] if reserve is not None else None
        self.keep_free = [int(k) for k in keep_free] if keep_free is not None else None
        self.non_idling = not any(self.reserve or ()) and not any(self.keep_free or ())

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        if not self.non_idling:
            open_pairs = [p for p in pairs if self._open(view, p)]
            if not open_pairs and view.can_hold:
                return view.hold
            pairs = open_pairs or pairs
        return super().decide(view, pairs)

    def _open(self, view: DecisionView, pair: int) -> bool:
        if self.reserve and view.queue_length[view.pair_type[pair]] <= self.reserve[pair]:
            return False
        return not (self.keep_free and view.idle_agents(view.pair_group[pair]) <= self.keep_free[pair])

    def score(self, view: DecisionView, t: int, g: int) -> float:
        return self.weights[t] * view.service_rate[g][t]


def cmu_weights(scenario: Scenario) -> list[float]:
    return [s.wait_cost_per_minute for s in scenario.ticket_types.values()]


def holding_weights(scenario: Scenario) -> list[float]:
    """Wait cost plus abandonment cost x abandonment rate, per minute of waiting."""
    return [s.wait_cost_per_minute
            + (s.abandon_cost / s.patience_minutes.mean if s.patience_minutes else 0.0)
            for s in scenario.ticket_types.values()]


@dataclass
class TunedIndex:
    weights: list[float]
    reserve: list[int] | None
    """Per pair index (t*G+g): start only while more tickets of t wait; None if all 0."""
    keep_free: list[int] | None
    """Per pair index: start only while more agents of g are idle; None if all 0."""
    cost_per_hour: float
    """Mean over the tuning days."""
    start: str
    evaluations: int


def tune_index(scenario: Scenario, days: Sequence[int], *, workers: int = 1,
               reservations: bool = False) -> TunedIndex:
    """Coordinate search over log weights and (if `reservations`) the two reservations of
    the pairs of multi-skilled groups; only moves that lower the mean cost are kept."""
    judge = _Judge(scenario, days, workers)
    try:
        starts = {"cmu": cmu_weights(scenario), "holding_cost_cmu": holding_weights(scenario)}
        costs = {name: judge(w, None, None) for name, w in starts.items()}
        start = min(costs, key=costs.__getitem__)
        state = _Search(np.log(np.maximum(starts[start], 1e-9)), costs[start], judge)
        state.weights()
        if reservations:
            state.reservations(scenario)
            state.weights()  # the best weights may differ once agents are held back
        return TunedIndex(state.current_weights(), state.reserve if any(state.reserve) else None,
                          state.keep_free if any(state.keep_free) else None, state.best,
                          start, judge.calls)
    finally:
        judge.close()


class _Search:
    """The current rule and its cost; each move is kept only if it lowers the cost."""

    def __init__(self, log_weights: np.ndarray, cost: float, judge: _Judge) -> None:
        self.log_weights, self.best, self.judge = log_weights, cost, judge
        n_pairs = len(judge.scenario.ticket_types) * len(judge.scenario.agent_groups)
        self.reserve, self.keep_free = [0] * n_pairs, [0] * n_pairs

    def current_weights(self) -> list[float]:
        return [float(f"{w:.6g}") for w in np.exp(self.log_weights)]

    def _try(self, log_weights: np.ndarray, reserve: list[int], keep_free: list[int]) -> bool:
        cost = self.judge(np.exp(log_weights), reserve, keep_free)
        if cost < self.best - 1e-9:
            self.best, self.log_weights = cost, log_weights
            self.reserve, self.keep_free = reserve, keep_free
            return True
        return False

    def weights(self) -> None:
        for step in STEPS:
            improved = True
            while improved:
                improved = False
                for t in range(len(self.log_weights)):
                    for sign in (1.0, -1.0):
                        candidate = self.log_weights.copy()
                        candidate[t] += sign * step
                        improved |= self._try(candidate, self.reserve, self.keep_free)

    def reservations(self, scenario: Scenario) -> None:
        groups = list(scenario.agent_groups.values())
        heads = [max(c for _, c in staffing_plan(scenario, g)) for g in scenario.group_names]
        flexible = [(t * len(groups) + g, heads[g])
                    for t, name in enumerate(scenario.type_names)
                    for g, group in enumerate(groups)
                    if name in group.skills and len(group.skills) > 1]
        improved = True
        while improved:
            improved = False
            for pair, most in flexible:
                for kind, limit in (("keep_free", most - 1), ("reserve", MAX_RESERVE)):
                    for change in (1, -1):
                        values = list(getattr(self, kind))
                        values[pair] += change
                        if not 0 <= values[pair] <= limit:
                            continue
                        other = {"reserve": self.reserve, "keep_free": self.keep_free, kind: values}
                        improved |= self._try(self.log_weights, other["reserve"],
                                              other["keep_free"])


class _Judge:
    """Mean cost_per_hour of an index rule over fixed days, days spread over processes."""

    def __init__(self, scenario: Scenario, days: Sequence[int], workers: int) -> None:
        self.scenario, self.days, self.calls = scenario, list(days), 0
        self.pool = None
        if workers > 1 and len(self.days) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(min(workers, len(self.days)),
                                            mp_context=multiprocessing.get_context("fork"))

    def __call__(self, weights: Sequence[float], reserve: Sequence[int] | None,
                 keep_free: Sequence[int] | None) -> float:
        self.calls += 1
        jobs = [(self.scenario, list(map(float, weights)), reserve, keep_free, day)
                for day in self.days]
        costs = self.pool.map(_day_cost, jobs) if self.pool else map(_day_cost, jobs)
        value = float(np.mean(list(costs)))
        return value if math.isfinite(value) else math.inf

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def _day_cost(job: tuple) -> float:
    scenario, weights, reserve, keep_free, day = job
    model = SupportModel(scenario, day).run(WeightedIndex(weights, reserve, keep_free))
    return float(summary_rows(model, ticket_table(model), "index").iloc[-1]["cost_per_hour"])
