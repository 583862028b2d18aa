"""Exact long-run costs of heuristics, each evaluated as a fixed policy in the routing MDP.

A heuristic is asked for its choice in every MDP state through a `StateView`
of that state; one that reads waiting times (not in the MDP state) or draws
at random cannot be evaluated exactly and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.exact.mdp import RoutingMDP
from agents.exact.solver import TAIL_MASS, evaluate
from agents.heuristics import HEURISTICS, Heuristic
from sim.scenario import Scenario
from sim.schedule import ArrivalSchedule
from sim.views import MissingFromState, StateView


@dataclass(frozen=True)
class HeuristicCost:
    cost_per_hour: float | None
    note: str = ""


def exact_heuristic_costs(scenario: Scenario, mdp: RoutingMDP,
                          names: Sequence[str] | None = None) -> dict[str, HeuristicCost]:
    """Exact long-run cost of each heuristic whose choice depends on the MDP state only."""
    agents = [int(n) for n in mdp.rates.agents]
    rates = [ArrivalSchedule.for_type(scenario, t).rate_at(0.0) for t in scenario.type_names]
    view = StateView(scenario, idle=agents, on_shift=agents, arrival_rate=rates)
    results = {}
    for name in names or list(HEURISTICS):
        heuristic = HEURISTICS[name]()
        if type(heuristic).decide is not Heuristic.decide:
            results[name] = HeuristicCost(None, "randomised: simulate it")
            continue
        try:
            action, tied = _heuristic_action(mdp, heuristic, view, agents)
        except MissingFromState:
            results[name] = HeuristicCost(None, "reads waiting times, not in the MDP state")
            continue
        evaluation = evaluate(mdp, action)
        notes = []
        if tied:
            notes.append("equal scores: ties go to the lowest pair (the simulator uses waits)")
        if evaluation.cap_mass.max() > 1e3 * TAIL_MASS:
            notes.append(f"a queue is at its cap {evaluation.cap_mass.max():.1%} of the time: "
                         "cost understated")
        results[name] = HeuristicCost(evaluation.cost_per_hour, "; ".join(notes))
    return results


def _heuristic_action(mdp: RoutingMDP, heuristic: Heuristic, view: StateView,
                      agents: list[int]) -> tuple[np.ndarray, bool]:
    space = mdp.space
    action = np.full(mdp.size, mdp.hold, dtype=np.int64)
    tied = False
    for level in mdp.levels:
        feasible: dict[int, list[int]] = {}
        for pair, rows, _target in level.options:
            for row in rows.tolist():
                feasible.setdefault(row, []).append(pair)
        for row, pairs in feasible.items():
            s = int(level.states[row])
            # The solver's own view, moved from state to state; the heuristic only reads it.
            view.queue_length = space.queue[s].tolist()
            view.busy = space.busy[s].tolist()
            view.idle = [n - sum(b) for n, b in zip(agents, view.busy, strict=True)]
            scores = [heuristic.score(view, view.pair_type[p], view.pair_group[p])
                      for p in pairs]
            top = max(scores)
            winners = [p for p, score in zip(pairs, scores, strict=True) if score == top]
            tied |= len(winners) > 1
            action[s] = min(winners)
    return action, tied
