"""Policies judged by simulation: cost per hour and service counts over given days
(common random numbers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.heuristics import HEURISTICS
from agents.progress import steps
from agents.sla import DayResult, day_result
from sim.model import SupportModel
from sim.scenario import Scenario


def simulated_days(scenario: Scenario, days: Sequence[int],
                   names: Sequence[str] | None = None, *, progress: bool = False
                   ) -> dict[str, list[DayResult]]:
    """Each heuristic's days (cost per hour, per-type service counts), in `names` order."""
    names = names or [n for n in HEURISTICS if n != "random"]
    runs = [(name, day) for name in names for day in days]
    results = {run: day_result(SupportModel(scenario, run[1]).run(HEURISTICS[run[0]]()))
               for run in steps(runs, "ranking heuristics", unit="run", disable=not progress)}
    return {name: [results[name, day] for day in days] for name in names}


def simulated_costs(scenario: Scenario, days: Sequence[int],
                    names: Sequence[str] | None = None, *, progress: bool = False
                    ) -> dict[str, float]:
    """Mean cost_per_hour of each heuristic simulated on the given days, best first."""
    costs = {name: float(np.mean([d.cost_per_hour for d in results]))
             for name, results in simulated_days(scenario, days, names, progress=progress).items()}
    return dict(sorted(costs.items(), key=lambda item: item[1]))
