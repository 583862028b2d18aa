"""The analytic answer: one Erlang team per ticket type, hour by hour.

Each ticket type with a target gets its own team from the group that serves
it at the least cost per unit of work, sized by Erlang C (or Erlang A where
customers abandon) for that hour's mean rate as if it were stationary. This
is how spreadsheets and pyworkforce staff a centre; it ignores shared agents,
non-exponential times and the routing policy, which the search then corrects.
"""

from __future__ import annotations

import numpy as np

from experiments.staffing.erlang import required_agents
from experiments.staffing.problem import StaffingProblem
from sim.scenario import HOURS_PER_DAY


def type_requirements(problem: StaffingProblem) -> np.ndarray:
    """Agents of each type's team needed per hour of the day (types x 24; 0 untargeted)."""
    need = np.zeros((len(problem.types), HOURS_PER_DAY), int)
    for k in np.flatnonzero(problem.targeted):
        team = problem.team_of(k)
        mu, theta = problem.service_rate(team, k), problem.abandon_rate(k)
        for hour in np.flatnonzero(problem.roster_hours):
            need[k, hour] = required_agents(float(problem.arrival_rate[k, hour]), mu,
                                            float(problem.sla_minutes[k]),
                                            float(problem.target[k]), theta)
    return need


def per_type_plan(problem: StaffingProblem, need: np.ndarray | None = None) -> np.ndarray:
    """Roster (groups x 24): each team's head count, plus the agents absence events take away."""
    need = type_requirements(problem) if need is None else need
    roster = np.zeros((len(problem.groups), HOURS_PER_DAY), int)
    for k in np.flatnonzero(problem.targeted):
        roster[problem.team_of(k)] += need[k]
    return np.where(roster > 0, roster + problem.absent, 0)
