"""The constraints of a scope, and how a change in answered tickets moves them.

A cell is one service-level constraint: per ticket type and hour of the day
(`hour` scope: the share of that hour's arrivals answered in time, pooled over
the days) or per ticket type (`day` scope: the day's share, averaged over
days as `routelab simulate` reports it). Both are linear in the counts of
tickets answered in time, so the change a roster makes to every cell splits
exactly by the hour its tickets arrived in; the search then credits each
arrival hour's change to the staffing hours that serve those arrivals.
"""

from __future__ import annotations

import math

import numpy as np

from experiments.staffing import SCOPES
from experiments.staffing.evaluate import Counts
from experiments.staffing.problem import StaffingProblem
from sim.scenario import HOURS_PER_DAY, MINUTES_PER_HOUR

# Standard errors the search keeps between its estimate and a target, (to accept
# a roster, to take an agent away). Day scope: two. A roster accepted at the edge
# on n search days is judged again on fresh days, and both means are noisy: their
# difference has a standard deviation of about SE * sqrt(1 + n / fresh), so two
# standard errors make a miss on 2n fresh days about a 5% event per binding type
# (one would make it 20%). Hour scope: none to accept, one to remove. A guard on
# each of a hundred noisy type-hours would buy agents against noise; but an hour
# left one agent short by a lucky sample is the worse error (an hour's service
# level swings by 5 to 10 points between days), so removals keep one standard
# error in hand. The fresh-day check reports the hours that fall short and
# whether their intervals still reach the target; --margin adds a cushion.
GUARD = {"day": (2.0, 2.0), "hour": (0.0, 1.0)}


class Cells:
    """The cells of one scope; `kind[i]` is the ticket type of cell i, `hour[i]` its hour or -1."""

    def __init__(self, problem: StaffingProblem, scope: str, margin: float = 0.0,
                 guard: float | None = None) -> None:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        self.problem, self.scope = problem, scope
        types = np.flatnonzero(problem.targeted)
        if scope == "day":
            self.kind, self.hour = types, np.full(len(types), -1)
        else:
            pairs = [(k, h) for k in types for h in range(HOURS_PER_DAY)
                     if problem.counted_hours[h] and problem.arrival_rate[k, h] > 0]
            self.kind = np.array([k for k, _ in pairs], int)
            self.hour = np.array([h for _, h in pairs], int)
        self.target = problem.target[self.kind] + margin
        self.guard, self.removal_guard = GUARD[scope] if guard is None else (guard, guard)
        # Staffing hours h' >= h serve the arrivals of hour h until their SLA runs out.
        self.span = np.floor(problem.sla_minutes / MINUTES_PER_HOUR).clip(0, HOURS_PER_DAY - 1)
        self._serving = np.array([self.serving_hours(i) for i in range(len(self))],
                                 bool).reshape(-1, HOURS_PER_DAY)

    def __len__(self) -> int:
        return len(self.kind)

    def levels(self, counts: Counts) -> np.ndarray:
        """The service level of every cell; NaN where no ticket arrived (no evidence)."""
        if self.scope == "day":
            with np.errstate(invalid="ignore"):
                return _nanmean(counts.daily()[:, self.kind])
        return counts.hourly()[self.kind, self.hour]

    def stderr(self, counts: Counts) -> np.ndarray:
        """Standard error of each cell's level over the days (days are independent)."""
        days = len(counts.seeds)
        if days < 2:
            return np.zeros(len(self))
        if self.scope == "day":
            daily = counts.daily()[:, self.kind]
            return np.nan_to_num(np.nanstd(daily, axis=0, ddof=1)) / math.sqrt(days)
        met = counts.met[:, self.kind, self.hour]
        arrived = counts.arrived[:, self.kind, self.hour]
        total = arrived.sum(axis=0)
        share = np.divide(met.sum(axis=0), total, out=np.zeros(len(self)), where=total > 0)
        residual = ((met - share * arrived) ** 2).sum(axis=0) / (days * (days - 1))
        return np.sqrt(residual) / np.maximum(total / days, 1e-12)

    def judged(self, counts: Counts, removing: bool = False) -> np.ndarray:
        """The level the search holds against the target: some standard errors below the
        estimate (see GUARD), so that a roster passing on the search days by luck is rare."""
        guard = self.removal_guard if removing else self.guard
        return self.levels(counts) - guard * self.stderr(counts)

    def shortfall(self, levels: np.ndarray) -> np.ndarray:
        """How far each cell is below its target (0 where met or without evidence)."""
        return np.nan_to_num(np.maximum(0.0, self.target - levels))

    def slack(self, levels: np.ndarray) -> np.ndarray:
        return np.nan_to_num(levels - self.target, nan=1.0)

    def granularity(self, counts: Counts) -> np.ndarray:
        """What one ticket more or less answered in time moves each cell by (about)."""
        if self.scope == "day":
            arrived = counts.arrived.sum(axis=(0, 2))[self.kind]
        else:
            arrived = counts.arrived.sum(axis=0)[self.kind, self.hour]
        return 1.0 / np.maximum(arrived, 1.0)

    def touched(self, group: int, hour: int) -> np.ndarray:
        """bool (cells): the cells an agent of `group` on shift at `hour` can serve."""
        return self._serving[:, hour] & (self.problem.speed[group, self.kind] > 0)

    def arrival_effects(self, base: Counts, changed: Counts) -> np.ndarray:
        """(cells, 24): the change in each cell from tickets arriving in each hour."""
        delta = changed.met - base.met
        if self.scope == "day":
            per_day = base.arrived.sum(axis=2, keepdims=True)
            share = np.divide(delta, per_day, out=np.zeros_like(delta), where=per_day > 0)
            return share[:, self.kind, :].mean(axis=0)
        arrived = base.arrived.sum(axis=0)
        pooled = np.divide(delta.sum(axis=0), arrived, out=np.zeros(arrived.shape),
                           where=arrived > 0)
        effects = np.zeros((len(self), HOURS_PER_DAY))
        effects[np.arange(len(self)), self.hour] = pooled[self.kind, self.hour]
        return effects

    def credit(self, effects: np.ndarray, probed: np.ndarray) -> np.ndarray:
        """(cells, 24): arrival-hour effects credited to the probed staffing hours.

        Arrivals of hour a of type k are served by staff of hours a .. a + span_k;
        their change is shared equally among the probed hours in that window.
        """
        credited = np.zeros_like(effects)
        for i, k in enumerate(self.kind):
            span = int(self.span[k])
            for arrival in np.flatnonzero(effects[i]):
                window = [h for h in range(arrival, min(arrival + span, HOURS_PER_DAY - 1) + 1)
                          if probed[h]]
                for h in window:
                    credited[i, h] += effects[i, arrival] / len(window)
        return credited

    def serving_hours(self, cell: int) -> np.ndarray:
        """bool (24): the staffing hours that serve a cell's arrivals."""
        k, span = self.kind[cell], int(self.span[self.kind[cell]])
        hours = np.zeros(HOURS_PER_DAY, bool)
        arrivals = ([self.hour[cell]] if self.hour[cell] >= 0 else
                    np.flatnonzero(self.problem.arrival_rate[k] > 0))
        for a in arrivals:
            hours[a:min(a + span, HOURS_PER_DAY - 1) + 1] = True
        return hours & self.problem.roster_hours

    def describe(self, cell: int) -> str:
        name = self.problem.types[self.kind[cell]]
        return name if self.hour[cell] < 0 else f"{name}@{self.hour[cell]:02d}h"


def _nanmean(values: np.ndarray) -> np.ndarray:
    counts = np.isfinite(values).sum(axis=0)
    sums = np.nansum(values, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), math.nan)
