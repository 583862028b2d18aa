"""Tuning the index rule (agents/index/rule.py) on training days.

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

Objective `cost` minimises the mean cost per hour. Objective `sla` minimises
it subject to every ticket type's `sla_target` (agents/sla.py), by dual
ascent: a price per missed ticket of each type (its multiplier) is added to
the cost, the rule is re-tuned, and the price of every type still short of
its target (plus `margin`) is raised, round after round, until the targets
hold. The rule returned is the cheapest of all the rules judged that meets
every target with the margin; if none does, the targets cannot be met by an
index rule on these days and the search minimises the total shortfall
instead (then cost).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from agents.index.rule import IndexRule
from agents.parallel import Pool
from agents.sla import (
    DayResult,
    day_result,
    lagrangian_per_hour,
    mean_levels,
    meets,
    sla_targets,
    total_shortfall,
)
from sim.model import SupportModel
from sim.scenario import Scenario
from sim.schedule import staffing_plan

STEPS = (0.7, 0.35, 0.15)  # log-weight steps: x2, x1.4, x1.16
MAX_RESERVE = 6  # tickets: a queue threshold above this is never worth trying
OBJECTIVES = ("cost", "sla")
MAX_ROUNDS = 7  # dual ascent: the last price is GROWTH ** 5 times the first
GROWTH = 3.0
MARGIN = 0.01  # aim this far above each target on the training days (they are few)


def cmu_weights(scenario: Scenario) -> list[float]:
    return [s.wait_cost_per_minute for s in scenario.ticket_types.values()]


def holding_weights(scenario: Scenario) -> list[float]:
    """Wait cost plus abandonment cost x abandonment rate, per minute of waiting."""
    return [s.wait_cost_per_minute
            + (s.abandon_cost / s.patience_minutes.mean if s.patience_minutes else 0.0)
            for s in scenario.ticket_types.values()]


@dataclass(frozen=True)
class Judged:
    """One candidate rule on the tuning days."""

    weights: tuple[float, ...]
    reserve: tuple[int, ...]
    keep_free: tuple[int, ...]
    days: tuple[DayResult, ...]

    @property
    def cost_per_hour(self) -> float:
        value = float(np.mean([d.cost_per_hour for d in self.days]))
        return value if math.isfinite(value) else math.inf

    @property
    def levels(self) -> list[float]:
        return mean_levels(self.days)


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
    objective: str = "cost"
    service_levels: list[float] = field(default_factory=list)
    """Per type, mean over the tuning days."""
    multipliers: list[float] | None = None
    """objective sla: the final price of a missed ticket, per type (cost units)."""
    feasible: bool | None = None
    """objective sla: the rule meets every target on the tuning days."""
    shortfall: float | None = None
    """objective sla: total shortfall on the tuning days."""
    rounds: list[dict] = field(default_factory=list)
    """objective sla: multipliers, service levels and cost of each dual ascent round."""

    @property
    def rule(self) -> IndexRule:
        return IndexRule(self.weights, self.reserve, self.keep_free)


class Progress(Protocol):
    """Told how many candidate rules are planned (a pass at a time) and when one is judged."""

    def plan(self, candidates: int) -> None: ...

    def judged(self) -> None: ...


Score = Callable[[Judged], tuple[float, float]]


def tune_index(scenario: Scenario, days: Sequence[int], *, workers: int = 1,
               reservations: bool = False, progress: Progress | None = None,
               objective: str = "cost", margin: float = MARGIN,
               max_rounds: int = MAX_ROUNDS) -> TunedIndex:
    """Coordinate search over log weights and (if `reservations`) the two reservations of
    the pairs of multi-skilled groups; only moves that lower the objective are kept."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: cost or sla, got {objective!r}")
    judge = _Judge(scenario, days, workers, progress)
    try:
        starts = {"cmu": cmu_weights(scenario), "holding_cost_cmu": holding_weights(scenario)}
        judge.plan(len(starts))
        tried = {name: judge(w, None, None) for name, w in starts.items()}
        start = min(tried, key=lambda name: tried[name].cost_per_hour)
        state = _Search(tried[start], judge, _by_cost, reservations)
        state.full()
        targets = sla_targets(scenario)
        if objective == "cost" or not any(t is not None for t in targets):
            return _result(state.current, start, judge.calls, "cost")
        return _constrained(state, judge, targets, margin, max_rounds, start)
    finally:
        judge.close()


def _constrained(state: _Search, judge: _Judge, targets: list[float | None], margin: float,
                 max_rounds: int, start: str) -> TunedIndex:
    """Dual ascent on the multipliers from the cost optimum (round 0: all prices 0)."""
    hours = state.current.days[0].hours
    per_hour = np.mean([sum(d.arrived) for d in state.current.days]) / hours
    unit = float(state.current.cost_per_hour / max(per_hour, 1e-9))  # mean cost of a ticket
    prices = [0.0] * len(targets)
    rounds = []
    for k in range(max_rounds):
        if k:
            state.rescore(_by_lagrangian(prices))
            state.weights(STEPS[:2])
            state.reservations()
        levels = state.current.levels
        rounds.append({"multipliers": [round(p, 4) for p in prices],
                       "service_levels": [round(v, 4) for v in levels],
                       "cost_per_hour": round(state.current.cost_per_hour, 4)})
        if meets(levels, targets, margin) or k == max_rounds - 1:
            break  # the prices reported are the last ones searched with
        prices = [max(GROWTH * p, unit) if target is not None and level < min(1.0, target + margin)
                  else p for p, level, target in zip(prices, levels, targets, strict=True)]
    safe = [j for j in judge.seen if meets(j.levels, targets, margin)]
    if safe:
        chosen = min(safe, key=lambda j: j.cost_per_hour)
    else:  # no index rule met every target: the least total shortfall, then the cheapest
        def by_shortfall(j: Judged) -> tuple[float, float]:
            return (total_shortfall(j.levels, targets), j.cost_per_hour)

        state.restart(min(judge.seen, key=by_shortfall), by_shortfall)
        state.full()
        chosen = min(judge.seen, key=by_shortfall)
    result = _result(chosen, start, judge.calls, "sla")
    result.multipliers = [round(float(p), 6) for p in prices]
    result.shortfall = total_shortfall(chosen.levels, targets)
    result.feasible = result.shortfall == 0.0
    result.rounds = rounds
    return result


def _result(judged: Judged, start: str, calls: int, objective: str) -> TunedIndex:
    return TunedIndex([float(f"{w:.6g}") for w in judged.weights],
                      list(judged.reserve) if any(judged.reserve) else None,
                      list(judged.keep_free) if any(judged.keep_free) else None,
                      judged.cost_per_hour, start, calls, objective,
                      service_levels=judged.levels)


def _by_cost(judged: Judged) -> tuple[float, float]:
    return (judged.cost_per_hour, 0.0)


def _by_lagrangian(prices: Sequence[float]) -> Score:
    def score(judged: Judged) -> tuple[float, float]:
        return (lagrangian_per_hour(judged.days, prices), 0.0)

    return score


def _better(a: tuple[float, float], b: tuple[float, float]) -> bool:
    if a[0] < b[0] - 1e-9:
        return True
    return abs(a[0] - b[0]) <= 1e-9 and a[1] < b[1] - 1e-9


class _Search:
    """The current rule and its score; each move is kept only if it lowers the score."""

    def __init__(self, start: Judged, judge: _Judge, score: Score, reservations: bool) -> None:
        self.judge, self.with_reservations = judge, reservations
        self.restart(start, score)

    def restart(self, start: Judged, score: Score) -> None:
        self.current = start
        self.log_weights = np.log(np.maximum(start.weights, 1e-9))
        self.reserve, self.keep_free = list(start.reserve), list(start.keep_free)
        self.rescore(score)

    def rescore(self, score: Score) -> None:
        self.score, self.best = score, score(self.current)

    def full(self) -> None:
        self.weights(STEPS)
        if self.with_reservations:
            self.reservations()
            self.weights(STEPS)  # the best weights may differ once agents are held back

    def _try(self, log_weights: np.ndarray, reserve: list[int], keep_free: list[int]) -> bool:
        judged = self.judge(np.exp(log_weights), reserve, keep_free)
        value = self.score(judged)
        if _better(value, self.best):
            self.best, self.current, self.log_weights = value, judged, log_weights
            self.reserve, self.keep_free = reserve, keep_free
            return True
        return False

    def weights(self, steps: Sequence[float]) -> None:
        for step in steps:
            improved = True
            while improved:
                improved = False
                self.judge.plan(2 * len(self.log_weights))
                for t in range(len(self.log_weights)):
                    for sign in (1.0, -1.0):
                        candidate = self.log_weights.copy()
                        candidate[t] += sign * step
                        improved |= self._try(candidate, self.reserve, self.keep_free)

    def reservations(self) -> None:
        if not self.with_reservations:
            return
        scenario = self.judge.scenario
        groups = list(scenario.agent_groups.values())
        heads = [max(c for _, c in staffing_plan(scenario, g)) for g in scenario.group_names]
        flexible = [(t * len(groups) + g, heads[g])
                    for t, name in enumerate(scenario.type_names)
                    for g, group in enumerate(groups)
                    if name in group.skills and len(group.skills) > 1]
        improved = True
        while improved:
            improved = False
            self.judge.plan(4 * len(flexible))
            for pair, most in flexible:
                for kind, limit in (("keep_free", most - 1), ("reserve", MAX_RESERVE)):
                    for change in (1, -1):
                        values = list(getattr(self, kind))
                        values[pair] += change
                        if not 0 <= values[pair] <= limit:
                            self.judge.skip()
                            continue
                        other = {"reserve": self.reserve, "keep_free": self.keep_free, kind: values}
                        improved |= self._try(self.log_weights, other["reserve"],
                                              other["keep_free"])


class _Judge:
    """A rule's days (cost and service counts), days spread over processes; every rule
    judged is kept in `seen`, and a rule judged before is not simulated again."""

    def __init__(self, scenario: Scenario, days: Sequence[int], workers: int,
                 progress: Progress | None) -> None:
        self.scenario, self.days, self.calls = scenario, list(days), 0
        self.pool = Pool(workers, len(self.days))
        self.progress = progress
        self.n_pairs = len(scenario.ticket_types) * len(scenario.agent_groups)
        self._known: dict[tuple, Judged] = {}

    @property
    def seen(self) -> list[Judged]:
        return list(self._known.values())

    def plan(self, candidates: int) -> None:
        if self.progress is not None:
            self.progress.plan(candidates)

    def skip(self) -> None:
        """A planned candidate that is out of range: nothing to judge."""
        if self.progress is not None:
            self.progress.judged()

    def __call__(self, weights: Sequence[float], reserve: Sequence[int] | None,
                 keep_free: Sequence[int] | None) -> Judged:
        rule = (tuple(map(float, weights)), tuple(reserve or [0] * self.n_pairs),
                tuple(keep_free or [0] * self.n_pairs))
        judged = self._known.get(rule)
        if judged is None:
            self.calls += 1
            jobs = [(self.scenario, *rule, day) for day in self.days]
            judged = Judged(*rule, tuple(self.pool.map(_day, jobs)))
            self._known[rule] = judged
        if self.progress is not None:
            self.progress.judged()
        return judged

    def close(self) -> None:
        self.pool.close()


def _day(job: tuple) -> DayResult:
    scenario, weights, reserve, keep_free, day = job
    rule = IndexRule(weights, reserve if any(reserve) else None,
                     keep_free if any(keep_free) else None)
    return day_result(SupportModel(scenario, day).run(rule))


def rule_days(scenario: Scenario, rule: IndexRule, days: Sequence[int]) -> list[DayResult]:
    """A rule's days (in this process)."""
    return [day_result(SupportModel(scenario, day).run(rule)) for day in days]


def rule_cost(scenario: Scenario, rule: IndexRule, days: Sequence[int]) -> float:
    """Mean cost_per_hour of a rule over some days (in this process)."""
    return float(np.mean([d.cost_per_hour for d in rule_days(scenario, rule, days)]))
