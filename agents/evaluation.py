"""Policies judged by simulation: cost per hour and service counts over given days
(common random numbers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.heuristics import HEURISTICS
from agents.sla import DayResult, day_result
from sim.model import SupportModel
from sim.scenario import Scenario


def simulated_days(scenario: Scenario, days: Sequence[int],
                   names: Sequence[str] | None = None) -> dict[str, list[DayResult]]:
    """Each heuristic's days (cost per hour, per-type service counts), in `names` order."""
    names = names or [n for n in HEURISTICS if n != "random"]
    return {name: [day_result(SupportModel(scenario, day).run(HEURISTICS[name]()))
                   for day in days] for name in names}


def simulated_costs(scenario: Scenario, days: Sequence[int],
                    names: Sequence[str] | None = None) -> dict[str, float]:
    """Mean cost_per_hour of each heuristic simulated on the given days, best first."""
    costs = {name: float(np.mean([d.cost_per_hour for d in results]))
             for name, results in simulated_days(scenario, days, names).items()}
    return dict(sorted(costs.items(), key=lambda item: item[1]))
