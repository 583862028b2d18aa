"""How faithful a table is to its source: agreement, coverage and the paired cost difference.

Judged on held-out seeds (common random numbers: the table and its source
route the very same days).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from agents.registry import make_policy
from agents.tables.policy import TablePolicy, bind_table
from agents.tables.read import LookupTable
from sim.decision import DecisionView, Policy
from sim.intervals import paired_interval
from sim.metrics import cost_per_hour
from sim.model import SupportModel
from sim.scenario import Scenario

Progress = Callable[[Iterable[int], str], Iterable[int]]


class Judge:
    """Runs the table and asks the source at every decision the table is asked."""

    def __init__(self, table: TablePolicy, source: Policy, seed: int) -> None:
        self.table, self.source, self.seed = table, source, seed
        self.name = table.name
        self.non_idling = table.non_idling and source.non_idling
        self.asked = self.agreed = 0

    def reset(self, view: DecisionView, rng: np.random.Generator) -> None:
        self.table.reset(view, rng)
        self.source.reset(view, np.random.default_rng([self.seed, 1]))

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        action = self.table.decide(view, pairs)
        self.asked += 1
        self.agreed += action == self.source.decide(view, pairs)
        return action



def measure_fidelity(table: LookupTable, scenario: Scenario, source_spec: str,
                     seeds: Sequence[int], progress: Progress | None = None) -> dict[str, Any]:
    """Agreement and coverage on held-out seeds; the cost paired by seed with the source's."""
    source = make_policy(source_spec, scenario)
    source_cost, table_cost = [], []
    asked = agreed = found = used = total = 0
    for seed in progress(seeds, "evaluate") if progress else seeds:
        source_cost.append(cost_per_hour(SupportModel(scenario, seed).run(source)))
        policy = bind_table(table, scenario)
        judge = Judge(policy, source, seed)
        model = SupportModel(scenario, seed).run(judge)
        table_cost.append(cost_per_hour(model))
        asked, agreed, total = asked + judge.asked, agreed + judge.agreed, total + model.decisions
        found, used = found + policy.counts.found, used + policy.counts.used
    diff = np.asarray(table_cost) - np.asarray(source_cost)
    interval, _ = paired_interval(table_cost, source_cost)
    low, high = interval.low, interval.high
    base = float(np.mean(source_cost))
    return {
        "eval_seeds": [int(seeds[0]), int(seeds[-1])],
        "decisions": total,
        "decisions_with_choice": asked,
        "agreement": _share(agreed, asked),
        "coverage": _share(found, asked),
        "stored_action_used": _share(used, asked),
        "cost_per_hour_source": round(base, 4),
        "cost_per_hour_table": round(float(np.mean(table_cost)), 4),
        "cost_diff_per_hour": round(float(diff.mean()), 4),
        "cost_diff_ci95": [_round(low), _round(high)],
        "cost_diff_pct": _round(100 * diff.mean() / base if base else math.nan),
        "cost_diff_pct_ci95": [_round(100 * low / base if base else math.nan),
                               _round(100 * high / base if base else math.nan)],
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 4)
