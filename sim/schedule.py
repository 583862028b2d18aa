"""Time-varying inputs of a run: arrival rates and staffed head counts.

Both are piecewise constant in simulated minutes. Arrival times come from
inverting the cumulative rate (exact for a non-homogeneous Poisson process
with piecewise-constant rate), so a unit-exponential stream maps to the same
arrival times whatever else happens in the run.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from sim.scenario import HOURS_PER_DAY, MINUTES_PER_HOUR, Absence, Scenario, Surge

# After the horizon shifts keep running, so that tickets can drain, but only
# downwards (no new shift starts); this bounds how far the plan is unrolled.
DRAIN_DAYS = 2


class ArrivalSchedule:
    """Piecewise-constant arrival rate of one ticket type over [0, horizon)."""

    def __init__(self, starts: list[float], rates_per_minute: list[float], end: float) -> None:
        self.starts, self.rates, self.end = starts, rates_per_minute, end
        self.cumulative = [0.0]
        for i, rate in enumerate(rates_per_minute):
            stop = starts[i + 1] if i + 1 < len(starts) else end
            self.cumulative.append(self.cumulative[-1] + rate * (stop - starts[i]))
        self.total = self.cumulative[-1]
        self.constant = len(starts) == 1
        # The same numbers as arrays, for inverting a block of arrivals at once.
        self.cumulative_array, self.starts_array, self.rates_array = (
            np.asarray(self.cumulative), np.asarray(starts, dtype=float),
            np.asarray(rates_per_minute, dtype=float))

    @classmethod
    def for_type(cls, scenario: Scenario, type_name: str) -> ArrivalSchedule:
        spec = scenario.ticket_types[type_name]
        end = scenario.horizon_minutes
        cuts = {0.0}
        if spec.hourly_profile is not None:
            cuts.update(h * MINUTES_PER_HOUR for h in range(math.ceil(scenario.horizon_hours)))
        surges = [e for e in scenario.events if isinstance(e, Surge) and type_name in e.ticket_types]
        for surge in surges:
            cuts.update((surge.start_hour * MINUTES_PER_HOUR, surge.end_hour * MINUTES_PER_HOUR))
        starts = sorted(c for c in cuts if c < end)
        rates = []
        for start in starts:
            hour = start / MINUTES_PER_HOUR
            factor = math.prod(s.factor for s in surges if s.start_hour <= hour < s.end_hour)
            per_hour = spec.rate_at_hour(int(hour) % HOURS_PER_DAY) * factor
            rates.append(per_hour / MINUTES_PER_HOUR)
        return cls(starts, rates, end)

    def time_of(self, cumulative_rate: float) -> float | None:
        """The time at which the integrated rate reaches a value; None past the horizon."""
        if cumulative_rate >= self.total:
            return None
        if self.constant:
            return cumulative_rate / self.rates[0]
        i = bisect.bisect_right(self.cumulative, cumulative_rate) - 1
        return self.starts[i] + (cumulative_rate - self.cumulative[i]) / self.rates[i]

    def rate_at(self, minute: float) -> float:
        """Arrivals per minute at a time (0 past the horizon)."""
        if minute >= self.end:
            return 0.0
        return self.rates[bisect.bisect_right(self.starts, minute) - 1]


def staffing_plan(scenario: Scenario, group_name: str) -> list[tuple[float, int]]:
    """(minute, head count) at every change of one group's staffed head count.

    Within the horizon: shifts repeated daily, less absences. After it, the
    head count may only fall, so agents on shift finish their shift and no
    new shift starts; the drain ends when nobody able is left.
    """
    group = scenario.agent_groups[group_name]
    absences = [e for e in scenario.events if isinstance(e, Absence) and e.group == group_name]
    horizon = scenario.horizon_hours
    days = math.ceil(horizon / HOURS_PER_DAY) + DRAIN_DAYS
    cuts = {0.0, horizon}
    cuts.update(b + HOURS_PER_DAY * d for b in group.boundaries_of_day() for d in range(days))
    for absence in absences:
        cuts.update((absence.start_hour, absence.end_hour))

    def planned(hour: float) -> int:
        away = sum(a.agents for a in absences if a.start_hour <= hour < a.end_hour)
        return max(0, group.scheduled_agents(hour % HOURS_PER_DAY) - away)

    plan: list[tuple[float, int]] = []
    for hour in sorted(cuts):
        count = planned(hour)
        if hour >= horizon and plan:
            count = min(count, plan[-1][1])
        if not plan or count != plan[-1][1]:
            plan.append((hour * MINUTES_PER_HOUR, count))
    return plan
