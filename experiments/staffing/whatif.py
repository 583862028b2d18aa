"""What if: one agent more or one fewer in a group at the busiest hours of the day.

Each change is simulated on the verification days, paired by seed with the
final roster, so the change in each type's service level comes with a paired
t interval (over the day, and over the arrivals of the busiest hours).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from experiments.staffing.evaluate import Counts
from experiments.staffing.problem import StaffingProblem
from experiments.stats import t_interval

BUSIEST = 3  # hours


def busiest_hours(problem: StaffingProblem, count: int = BUSIEST) -> np.ndarray:
    """The hours of the day with the most work arriving (at speed 1), in clock order."""
    handle = np.array([problem.scenario.ticket_types[t].handle_minutes.mean
                       for t in problem.types])
    work = (problem.arrival_rate * handle[:, None]).sum(axis=0)
    work = np.where(problem.counted_hours, work, -1.0)
    return np.sort(np.argsort(-work, kind="stable")[:count])


def changes(problem: StaffingProblem, roster: np.ndarray,
            hours: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(group, +1 or -1, roster) for every group; -1 only where the group has agents then."""
    out = []
    for g in range(len(problem.groups)):
        for sign in (+1, -1):
            where = np.zeros_like(roster, bool)
            where[g, hours] = True
            if sign < 0:
                where &= roster > 0
            if where.any():
                out.append((g, sign, roster + sign * where.astype(int)))
    return out


def what_if(problem: StaffingProblem, roster: np.ndarray, base: Counts,
            evaluate: Callable[[list[np.ndarray]], list[Counts]],
            hours: np.ndarray | None = None) -> dict[str, Any]:
    """The what-if table of staff.json: each change and its effect on every targeted type."""
    hours = busiest_hours(problem) if hours is None else hours
    candidates = changes(problem, roster, hours)
    results = evaluate([r for _, _, r in candidates])
    rows = []
    for (g, sign, changed), counts in zip(candidates, results, strict=True):
        moved = changed - roster
        rows.append({
            "group": problem.groups[g], "change": sign,
            "hours": [int(h) for h in np.flatnonzero(moved[g])],
            "agent_hours": float(problem.agent_hours(moved).sum()),
            "cost": problem.cost_of(moved),
            "by_type": _by_type(problem, base, counts, hours),
        })
    return {"hours": [int(h) for h in hours], "changes": rows}


def _by_type(problem: StaffingProblem, base: Counts, changed: Counts,
             hours: np.ndarray) -> list[dict[str, Any]]:
    day_base, day_new = base.daily(), changed.daily()
    busy_base, busy_new = base.within(hours), changed.within(hours)
    rows = []
    for k in np.flatnonzero(problem.targeted):
        day = t_interval(day_new[:, k] - day_base[:, k])
        busy = t_interval(busy_new[:, k] - busy_base[:, k])
        level = float(np.nanmean(day_new[:, k]))
        rows.append({
            "ticket_type": problem.types[k], "service_level": level,
            "change": day.mean, "ci_low": day.low, "ci_high": day.high,
            "busiest_hours_change": busy.mean, "busiest_hours_ci_low": busy.low,
            "busiest_hours_ci_high": busy.high,
            "meets_target": bool(level >= problem.target[k]),
        })
    return rows
