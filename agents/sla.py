"""Service-level targets as constraints: what a day met, the shortfall, the price of a miss.

A ticket type with `sla_minutes` and an `sla_target` should have at least
that share of its counted tickets answered within `sla_minutes`, over the day
(mean over days). Its shortfall is max(0, target - service level); a policy
that meets every target has a total shortfall of 0. Minimising cost subject
to the targets is relaxed with one multiplier per type (a Lagrangian): every
missed ticket of type t costs `multipliers[t]` on top of the scenario's own
cost. agents/index/tune.py raises the multipliers by dual ascent until the
targets hold; the learner (agents/rl/) charges the same price in its reward.

The service level here is the very share summary.csv reports (sim/metrics.py),
computed without pandas for inner loops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.metrics import cost_per_hour
from sim.model import ABANDONED, SERVED, SERVING, UNRESOLVED, WAITING, SupportModel
from sim.scenario import Scenario


def sla_targets(scenario: Scenario) -> list[float | None]:
    """The target of each ticket type in type order; None where a type has none
    (a target without `sla_minutes` cannot be measured, so it counts as none)."""
    return [spec.sla_target if spec.sla_target is not None and spec.sla_minutes is not None
            else None for spec in scenario.ticket_types.values()]


def has_targets(scenario: Scenario) -> bool:
    return any(t is not None for t in sla_targets(scenario))


@dataclass(frozen=True)
class DayResult:
    """One simulated day of one policy: its cost and, per type, counted and met tickets."""

    cost_per_hour: float
    arrived: tuple[int, ...]
    met: tuple[int, ...]
    hours: float

    @property
    def levels(self) -> list[float]:
        """Service level per type (NaN for a type with no counted ticket)."""
        return [m / a if a else math.nan for m, a in zip(self.met, self.arrived, strict=True)]

    def misses_per_hour(self) -> list[float]:
        return [(a - m) / self.hours for a, m in zip(self.arrived, self.met, strict=True)]


def day_result(model: SupportModel) -> DayResult:
    """Cost per hour and per-type service counts of a finished run (counted tickets)."""
    columns = model.tickets.arrays()
    counted = columns["counted"]
    types, state = columns["type"][counted], columns["state"][counted]
    wait = columns["start"][counted] - columns["arrival"][counted]
    met_sla = (state == SERVED) & (wait <= np.asarray(model.sla_minutes)[types])
    arrived = np.bincount(types, minlength=model.n_types)
    met = np.bincount(types[met_sla], minlength=model.n_types)
    return DayResult(cost_per_hour(model), tuple(int(a) for a in arrived),
                     tuple(int(m) for m in met), model.scenario.counted_hours)


def mean_levels(days: Sequence[DayResult]) -> list[float]:
    """Service level per type, mean over the days that had tickets of the type."""
    per_type = zip(*(d.levels for d in days), strict=True)
    return [_nanmean(values) for values in per_type]


def shortfalls(levels: Sequence[float], targets: Sequence[float | None]) -> list[float]:
    """max(0, target - level) per type; 0 where a type has no target or no ticket."""
    return [max(0.0, target - level) if target is not None and not math.isnan(level) else 0.0
            for level, target in zip(levels, targets, strict=True)]


def total_shortfall(levels: Sequence[float], targets: Sequence[float | None]) -> float:
    return float(sum(shortfalls(levels, targets)))


def meets(levels: Sequence[float], targets: Sequence[float | None], margin: float = 0.0) -> bool:
    """Every target met (with `margin` to spare, capped at a level of 1)."""
    return all(target is None or math.isnan(level) or level >= min(1.0, target + margin)
               for level, target in zip(levels, targets, strict=True))


def lagrangian_per_hour(days: Sequence[DayResult], multipliers: Sequence[float]) -> float:
    """Mean over days of cost per hour plus each type's misses per hour x its multiplier."""
    total = 0.0
    for day in days:
        total += day.cost_per_hour + sum(
            price * misses for price, misses in zip(multipliers, day.misses_per_hour(),
                                                    strict=True))
    return total / len(days)


class MissCounter:
    """Misses of a running model as they become certain (for a reward).

    A ticket of a type with a target is missed once it has waited longer than
    `sla_minutes` unanswered, or when it abandons or is left unresolved
    before; every ticket is counted at most once. Warm-up tickets count too,
    like the rest of the env's reward.
    """

    def __init__(self, model: SupportModel, targets: Sequence[float | None]) -> None:
        self.model = model
        self.watched = [target is not None for target in targets]
        self._seen = 0
        self._open: list = []

    def new_misses(self) -> list[int]:
        """Misses per type since the previous call."""
        model = self.model
        # The ticket columns of the running model, read by index: a ticket's state changes.
        tickets, limits, watched = model.tickets, model.sla_minutes, self.watched
        types, states, arrival, start = tickets.type, tickets.state, tickets.arrival, tickets.start
        n = len(tickets)
        self._open.extend(i for i in range(self._seen, n) if watched[types[i]])
        self._seen = n
        now = model.now
        misses = [0] * model.n_types
        still_open = []
        for i in self._open:
            t, state = types[i], states[i]
            if state == WAITING:
                if now - arrival[i] > limits[t]:
                    misses[t] += 1
                else:
                    still_open.append(i)
            elif state in (SERVING, SERVED):
                if start[i] - arrival[i] > limits[t]:
                    misses[t] += 1
            elif state in (ABANDONED, UNRESOLVED):
                misses[t] += 1  # never answered, as summary.csv counts it
        self._open = still_open
        return misses


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan
