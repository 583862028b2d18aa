"""Policies judged by simulation: mean cost per hour over given days (common random numbers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agents.heuristics import HEURISTICS
from sim.metrics import cost_per_hour
from sim.model import SupportModel
from sim.scenario import Scenario


def simulated_costs(scenario: Scenario, days: Sequence[int],
                    names: Sequence[str] | None = None) -> dict[str, float]:
    """Mean cost_per_hour of each heuristic simulated on the given days, best first."""
    names = names or [n for n in HEURISTICS if n != "random"]
    costs = {name: float(np.mean([cost_per_hour(SupportModel(scenario, day).run(HEURISTICS[name]()))
                                  for day in days]))
             for name in names}
    return dict(sorted(costs.items(), key=lambda item: item[1]))
