"""The exact optimum as the simulator's `--policy optimal`, solved once and cached on disk."""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agents.exact.cache import ALSO_READ_ENV, cache_dir
from agents.exact.mdp import Rates, StateSpace, rates_of, state_count
from agents.exact.solver import SOLVER_VERSION, Solution, solve
from sim.atomic import write_atomic
from sim.decision import DecisionView
from sim.scenario import Scenario


class OptimalPolicy:
    """Looks up the solved decision for the simulator's (queue lengths, busy agents).

    Queues longer than their cap (rare by construction) use the cap's decision.
    """

    name = "optimal"
    non_idling = False

    def __init__(self, solution: Solution, rates: Rates) -> None:
        self.solution = solution
        self.space = StateSpace(rates, solution.caps)
        self.action = solution.action

    def reset(self, view: DecisionView, rng: np.random.Generator) -> None:
        pass

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        choice = int(self.action[self.space.index_of(view.queue_length, view.busy)])
        return choice if choice in pairs else view.hold


_SOLVED: dict[str, Solution] = {}


def solution_for(scenario: Scenario) -> Solution:
    """The solved scenario, from memory, the disk cache, or a fresh solve."""
    key = scenario.sha256()
    if key in _SOLVED:
        return _SOLVED[key]
    solution = _read_cache(scenario)
    if solution is None:
        solution = solve(scenario)
        _write_cache(solution)
    _SOLVED[key] = solution
    return solution


def remember(solution: Solution) -> None:
    """Keep a fresh solution for `--policy optimal` (in memory and on disk)."""
    _SOLVED[solution.scenario_sha256] = solution
    _write_cache(solution)


def optimal_policy(scenario: Scenario) -> OptimalPolicy:
    """The `optimal` policy of `--policy optimal`; PolicyError if out of the solver's reach."""
    rates = rates_of(scenario)
    return OptimalPolicy(solution_for(scenario), rates)


def _cache_name(sha256: str) -> str:
    return f"{sha256[:24]}-v{SOLVER_VERSION}.npz"


def _cache_path(sha256: str) -> Path | None:
    folder = cache_dir()
    return folder / _cache_name(sha256) if folder else None


def _read_cache(scenario: Scenario) -> Solution | None:
    """The stored solution of this scenario: from the cache folder, else (read only)
    from the default folder when a command moved the cache (`cache_folder`)."""
    also = os.environ.get(ALSO_READ_ENV)
    paths = [_cache_path(scenario.sha256()),
             Path(also) / _cache_name(scenario.sha256()) if also else None]
    for path in paths:
        solution = _read_cache_file(path, scenario) if path is not None else None
        if solution is not None:
            return solution
    return None


def _read_cache_file(path: Path, scenario: Scenario) -> Solution | None:
    """A stored solution of exactly this scenario and solver version, or None.

    Anything wrong with the file (truncated, another layout, a decision that
    is not feasible in its state) makes it None: the scenario is solved again
    and the file replaced.
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            facts = json.loads(str(stored["summary"]))
            action = stored["action"]
        if facts["scenario_sha256"] != scenario.sha256() or action.dtype.kind not in "iu":
            return None
        action = action.astype(np.int64)
        rates = rates_of(scenario)
        caps = facts["queue_caps"]
        if list(caps) != list(rates.type_names) or not all(
                isinstance(c, int) and 0 <= c for c in caps.values()):
            return None
        if not _feasible(action, rates, list(caps.values())):
            return None
        return Solution(
            scenario=facts["scenario"], scenario_sha256=facts["scenario_sha256"],
            type_names=list(facts["queue_caps"]), caps=list(facts["queue_caps"].values()),
            states=facts["states"], uniformisation_per_minute=facts["uniformisation_per_minute"],
            rvi_iterations=facts["rvi_iterations"],
            optimal_bounds_per_hour=tuple(facts["optimal_bounds_per_hour"]),
            policy_bounds_per_hour=tuple(facts["policy_bounds_per_hour"]),
            cost_per_hour=facts["cost_per_hour"], cap_mass=list(facts["cap_mass"].values()),
            holding_share=facts["holding_share"], seconds=facts["solve_seconds"], action=action)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, RecursionError,
            zipfile.BadZipFile, zlib.error):
        return None  # unreadable or from another layout: solve again


def _feasible(action: np.ndarray, rates: Rates, caps: Sequence[int]) -> bool:
    """One decision per state, each `hold` or a pair that can start in that state."""
    if action.ndim != 1 or state_count(rates, caps) != action.shape[0]:
        return False  # checked before the state space is built: the file proves its size
    space = StateSpace(rates, caps)
    n_groups = space.n_groups
    hold = space.n_types * n_groups
    if action.min(initial=0) < 0 or action.max(initial=0) > hold:
        return False
    starts = np.flatnonzero(action != hold)
    t, g = np.divmod(action[starts], n_groups)
    free = rates.agents[g] - space.busy[starts, g, :].sum(axis=1)
    return bool(np.all((space.queue[starts, t] > 0) & (free > 0) & (rates.service[g, t] > 0)))


def _write_cache(solution: Solution) -> None:
    """Best effort: a cache that cannot be written only costs a solve next time."""
    path = _cache_path(solution.scenario_sha256)
    if path is None:
        return

    def save(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez_compressed(handle, action=solution.action.astype(np.int16),
                                summary=np.array(json.dumps(solution.summary())))

    try:
        write_atomic(path, save)
    except OSError:
        pass
