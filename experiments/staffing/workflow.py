"""One staffing study, phase by phase: analytic start, search, shifts, verification, what-if.

The search runs on its own days (seeds SEARCH_SEED0..); the final roster, the
original roster and the per-type Erlang plan are then simulated on fresh
verification days 0..V-1 (the seeds `routelab simulate --seeds V` runs, so
`routelab simulate staffed.yaml` reproduces the staffed figures), and the
what-if changes on the same days, paired with the final roster.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.runner import Runner
from experiments.staffing.cells import Cells
from experiments.staffing.evaluate import SEARCH_SEED0, Counts, Evaluator
from experiments.staffing.plan import per_type_plan, type_requirements
from experiments.staffing.problem import StaffingProblem, coverage, staffing_problem
from experiments.staffing.search import MarginalSearch, SearchResult, Step
from experiments.staffing.shifts import shift_starts, shifts_of
from experiments.staffing.whatif import what_if
from sim.scenario import Scenario, Shift

UPPER_FACTOR, UPPER_EXTRA = 2, 5  # cap per group and hour: twice the Erlang total, plus 5


@dataclass(frozen=True)
class StaffSettings:
    scope: str = "hour"
    seeds: int = 10  # search days
    verify_seeds: int = 20  # fresh days for the final figures
    shift_hours: int | None = None
    margin: float = 0.0  # added to every target during the search
    max_iterations: int = 60
    what_if: bool = True

    @property
    def search_seeds(self) -> list[int]:
        return list(range(SEARCH_SEED0, SEARCH_SEED0 + self.seeds))

    @property
    def verification_seeds(self) -> list[int]:
        return list(range(self.verify_seeds))


@dataclass
class StaffResult:
    problem: StaffingProblem
    policy: str
    settings: StaffSettings
    erlang_need: np.ndarray  # types x 24: each type's own Erlang team
    erlang_plan: np.ndarray  # groups x 24
    search: SearchResult
    roster: np.ndarray  # groups x 24: agents on shift in the final plan
    shift_search: SearchResult | None
    shifts: dict[str, list[Shift]] | None
    verified: dict[str, Counts]  # staffed, original, erlang on the verification seeds
    what_if: dict[str, Any] | None
    seconds: dict[str, float] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)


def staff(scenario: Scenario, policy_spec: str, settings: StaffSettings, runner: Runner,
          on_step: Callable[[Step], None] | None = None,
          on_phase: Callable[[str], None] | None = None) -> StaffResult:
    """Find, verify and probe the cheapest roster meeting every target (see module doc)."""
    announce = on_phase or (lambda phase: None)
    clock, seconds = time.perf_counter(), {}
    problem = staffing_problem(scenario)
    evaluator = Evaluator(problem, policy_spec, runner)
    need = type_requirements(problem)
    plan = per_type_plan(problem, need)
    upper = np.broadcast_to(UPPER_FACTOR * plan.sum(axis=0) + UPPER_EXTRA, plan.shape).copy()
    upper = np.maximum(upper, plan)
    seconds["analytic"] = time.perf_counter() - clock

    announce("search")
    cells = Cells(problem, settings.scope, settings.margin)
    search = MarginalSearch(cells, lambda rosters: evaluator.evaluate(rosters,
                                                                      settings.search_seeds),
                            upper, settings.max_iterations, on_step).run(plan)
    seconds["search"] = time.perf_counter() - clock - sum(seconds.values())

    roster, shifts, shift_search = search.roster, None, None
    if settings.shift_hours is not None:
        # The cheapest shifts covering the hourly requirement, then the same search
        # with whole shifts as its moves: a cover over-staffs some hours, and whole
        # shifts that the targets do not need can go.
        announce("shifts")
        hours = settings.shift_hours
        starts = np.array([shift_starts(row, hours) for row in search.roster])
        shift_search = MarginalSearch(cells, lambda rosters: evaluator.evaluate(
            rosters, settings.search_seeds), upper, settings.max_iterations, on_step,
            shift_hours=hours).run(starts)
        per_group = [shifts_of(row, hours) for row in shift_search.starts]
        shifts = dict(zip(problem.groups, per_group, strict=True))
        roster = np.array([coverage(s) for s in per_group])
    seconds["shifts"] = time.perf_counter() - clock - sum(seconds.values())

    announce("verification")
    seeds = settings.verification_seeds
    staffed, original, erlang = evaluator.evaluate([roster, None, plan], seeds)
    verified = {"staffed": staffed, "original": original, "erlang_per_type": erlang}
    seconds["verification"] = time.perf_counter() - clock - sum(seconds.values())

    probes = None
    if settings.what_if:
        announce("what-if")
        probes = what_if(problem, roster, staffed, lambda r: evaluator.evaluate(r, seeds))
    seconds["what_if"] = time.perf_counter() - clock - sum(seconds.values())
    seconds["total"] = time.perf_counter() - clock
    return StaffResult(problem, policy_spec, settings, need, plan, search, roster, shift_search,
                       shifts,
                       verified, probes, seconds,
                       {"simulated": evaluator.simulated, "reused": evaluator.reused})
