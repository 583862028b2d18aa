"""Which policy to use: the cheapest that meets every service-level target, else the one
that falls least short of them.

A policy meets a ticket type's `sla_target` when its service level, mean
over seeds, is at least the target. Its total shortfall is the sum over
types of max(0, target - service level). The recommendation is the
cheapest policy (mean cost per hour) with no shortfall; where none has
none, the one with the smallest total shortfall (the cheaper on a tie).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

TOLERANCE = 1e-9  # a mean of shares that equals the target up to rounding meets it


@dataclass(frozen=True)
class Standing:
    """One policy against the targets of one scenario."""

    policy: str
    cost_per_hour: float
    levels: dict[str, float]
    """Service level per ticket type with a target, mean over seeds."""
    targets: dict[str, float]
    shortfall: float

    @property
    def meets(self) -> bool:
        return self.shortfall == 0.0

    @property
    def misses(self) -> list[str]:
        return [t for t, target in self.targets.items() if _short(self.levels[t], target) > 0]


def targets_of(scenario: Mapping) -> dict[str, float]:
    """Ticket types with an sla_target (and the sla_minutes that make it measurable)."""
    return {name: float(spec["sla_target"]) for name, spec in scenario["ticket_types"].items()
            if spec.get("sla_target") is not None and spec.get("sla_minutes") is not None}


def standings(costs: Mapping[str, float], by_type: pd.DataFrame,
              targets: Mapping[str, float]) -> list[Standing]:
    """Every policy of `costs`, in the order of the rule: those that meet every target by
    cost, then the others by total shortfall and cost.

    `by_type` has one row per (policy, ticket_type, seed) with a `service_level`.
    """
    means = by_type.groupby(["policy", "ticket_type"], sort=False)["service_level"].mean()
    rows = []
    for policy, cost in costs.items():
        levels = {t: float(means.get((policy, t), math.nan)) for t in targets}
        shortfall = sum(_short(levels[t], target) for t, target in targets.items())
        rows.append(Standing(policy, float(cost), levels, dict(targets), shortfall))
    return sorted(rows, key=lambda s: (not s.meets, 0.0 if s.meets else s.shortfall,
                                       s.cost_per_hour))


def recommend(costs: Mapping[str, float], by_type: pd.DataFrame,
              targets: Mapping[str, float]) -> Standing:
    return standings(costs, by_type, targets)[0]


def _short(level: float, target: float) -> float:
    """max(0, target - level); a type with no counted ticket (NaN) falls short of nothing."""
    if math.isnan(level) or level >= target - TOLERANCE:
        return 0.0
    return target - level
