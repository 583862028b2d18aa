"""The exact optimal routing policy of a small scenario, and exact costs of heuristics.

`solve` runs relative value iteration on the uniformised MDP of agents/mdp.py
until the Odoni bounds on the optimal cost per step are within RTOL of each
other, takes the greedy policy, and evaluates that policy on its own (same
bounds, plus its long-run state distribution) to check that its cost lies
within the bounds. Queue caps start from a reference queue per type and grow
until, under the optimal policy, no queue sits at its cap more than TAIL_MASS
of the time. `optimal_policy` serves the result to the simulator (`--policy
optimal`), cached in memory and under results/runs/cache/optimal.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agents.heuristics import HEURISTICS, Heuristic
from agents.mdp import Rates, RoutingMDP, StateSpace, rates_of, state_count
from agents.registry import PolicyError
from sim.decision import DecisionView
from sim.model import SupportModel
from sim.scenario import Scenario

SOLVER_VERSION = 2  # bump when the cached files' meaning or layout changes
TAIL_MASS = 1e-6  # largest share of time a queue may sit at its cap under the optimal policy
RTOL = 1e-6  # relative gap of the Odoni bounds at which value iteration stops
MAX_STATES = 250_000
MAX_RVI_ITERATIONS = 200_000
OCCUPANCY_TOL = 1e-11  # L1 change of the state distribution in one step, to stop
MAX_CAP_ROUNDS = 6
MINUTES_PER_HOUR = 60.0


@dataclass(frozen=True)
class Evaluation:
    """A stationary policy evaluated in the MDP."""

    cost_per_hour: float  # midpoint of the bounds
    bounds_per_hour: tuple[float, float]
    iterations: int
    relative_value: np.ndarray  # per pre-decision state, in cost per step units
    occupancy: np.ndarray  # long-run share of time in each post-decision state
    cap_mass: np.ndarray  # (T,) share of time each queue sits at its cap


def evaluate(mdp: RoutingMDP, action: np.ndarray, rtol: float = RTOL,
             start: np.ndarray | None = None) -> Evaluation:
    """Long-run cost and occupancy of a fixed policy, by iterating its chain.

    Relative values iterate as in `relative_value_iteration` with the policy
    in place of the minimum (Odoni bounds, same stopping rule); the state
    distribution is pushed forward from the empty system until one step moves
    less than OCCUPANCY_TOL of mass.
    """
    post = mdp.post_states(action)
    chain = mdp.transitions[post]
    forward = chain.T.tocsr()
    cost = mdp.step_cost[post]
    relative = np.zeros(mdp.size) if start is None else start.copy()
    visits = np.zeros(mdp.size)
    visits[0] = 1.0
    lower = upper = 0.0
    settled = False
    iteration = 0
    while iteration < MAX_RVI_ITERATIONS:
        iteration += 1
        if not settled:
            updated = cost + chain @ relative
            change = updated - relative
            lower, upper = float(change.min()), float(change.max())
            relative = updated - updated[0]
            settled = upper - lower <= rtol * max(abs(upper), 1e-300)
        moved_visits = forward @ visits
        moved = float(np.abs(moved_visits - visits).sum())
        visits = moved_visits
        if settled and moved <= OCCUPANCY_TOL:
            break
    if iteration == MAX_RVI_ITERATIONS:
        raise PolicyError(f"policy evaluation did not settle in {MAX_RVI_ITERATIONS} iterations")
    occupancy = np.bincount(post, weights=visits / visits.sum(), minlength=mdp.size)
    queue, caps = mdp.space.queue, mdp.space.caps
    cap_mass = np.array([occupancy[queue[:, t] == caps[t]].sum() for t in range(mdp.n_types)])
    per_hour = mdp.uniformisation * MINUTES_PER_HOUR
    return Evaluation((lower + upper) / 2 * per_hour, (lower * per_hour, upper * per_hour),
                      iteration, relative, occupancy, cap_mass)


@dataclass(frozen=True)
class ValueIteration:
    relative_value: np.ndarray
    iterations: int
    lower_per_hour: float  # Odoni bounds on the optimal cost
    upper_per_hour: float


def relative_value_iteration(mdp: RoutingMDP, rtol: float = RTOL,
                             start: np.ndarray | None = None) -> ValueIteration:
    """h <- T h - (T h)(0) until max - min of (T h - h) is within rtol of its max.

    min and max of T h - h bound the optimal cost per step at every
    iteration (Odoni), so the stop is a guarantee, not a heuristic.
    """
    relative = np.zeros(mdp.size) if start is None else start.copy()
    lower = upper = 0.0
    iteration = 0
    while iteration < MAX_RVI_ITERATIONS:
        iteration += 1
        updated = mdp.minimise(mdp.step_cost + mdp.transitions @ relative)
        change = updated - relative
        lower, upper = float(change.min()), float(change.max())
        relative = updated - updated[0]
        if upper - lower <= rtol * max(abs(upper), 1e-300):
            break
    if iteration == MAX_RVI_ITERATIONS:
        raise PolicyError(f"value iteration did not settle in {MAX_RVI_ITERATIONS} iterations")
    per_hour = mdp.uniformisation * MINUTES_PER_HOUR
    return ValueIteration(relative, iteration, lower * per_hour, upper * per_hour)


@dataclass
class Solution:
    """The optimal policy of one scenario and how it was found."""

    scenario: str
    scenario_sha256: str
    type_names: list[str]
    caps: list[int]
    states: int
    uniformisation_per_minute: float
    rvi_iterations: int
    optimal_bounds_per_hour: tuple[float, float]  # from value iteration
    policy_bounds_per_hour: tuple[float, float]  # the greedy policy, evaluated
    cost_per_hour: float  # the policy's cost (midpoint of its bounds)
    cap_mass: list[float]
    holding_share: float  # time with agents kept idle while work they could take waits
    seconds: float
    action: np.ndarray
    mdp: RoutingMDP | None = field(default=None, repr=False)

    def summary(self) -> dict[str, object]:
        """The JSON-able facts (no arrays)."""
        return {
            "scenario": self.scenario,
            "scenario_sha256": self.scenario_sha256,
            "cost_per_hour": self.cost_per_hour,
            "optimal_bounds_per_hour": list(self.optimal_bounds_per_hour),
            "policy_bounds_per_hour": list(self.policy_bounds_per_hour),
            "states": self.states,
            "queue_caps": dict(zip(self.type_names, self.caps, strict=True)),
            "cap_mass": dict(zip(self.type_names, self.cap_mass, strict=True)),
            "tail_mass_limit": TAIL_MASS,
            "holding_share": self.holding_share,
            "uniformisation_per_minute": self.uniformisation_per_minute,
            "rvi_iterations": self.rvi_iterations,
            "rtol": RTOL,
            "solve_seconds": self.seconds,
        }


def solve(scenario: Scenario, caps: Sequence[int] | None = None, *,
          max_states: int = MAX_STATES, rtol: float = RTOL) -> Solution:
    """The optimal long-run average cost and policy; caps grow unless given."""
    started = time.perf_counter()
    rates = rates_of(scenario)
    current = list(caps) if caps is not None else initial_caps(rates)
    for _round in range(MAX_CAP_ROUNDS):
        _check_size(scenario, rates, current, max_states)
        mdp = RoutingMDP(rates, current)
        iteration, action, evaluation = _optimal_policy(mdp, rtol)
        over = evaluation.cap_mass > TAIL_MASS
        if caps is not None or not over.any():
            break
        current = _grown_caps(mdp, evaluation, current, over)
    else:
        raise PolicyError(f"{scenario.name}: queues did not settle below caps {current} "
                          "(is the load too high for the agents?)")
    return Solution(
        scenario=scenario.name, scenario_sha256=scenario.sha256(),
        type_names=list(rates.type_names), caps=[int(c) for c in current], states=mdp.size,
        uniformisation_per_minute=mdp.uniformisation, rvi_iterations=iteration.iterations,
        optimal_bounds_per_hour=(iteration.lower_per_hour, iteration.upper_per_hour),
        policy_bounds_per_hour=evaluation.bounds_per_hour,
        cost_per_hour=float(evaluation.cost_per_hour),
        cap_mass=[float(m) for m in evaluation.cap_mass],
        holding_share=float(evaluation.occupancy[mdp.decision_states].sum()),
        seconds=time.perf_counter() - started, action=action, mdp=mdp)


def check_solvable(scenario: Scenario, max_states: int = MAX_STATES) -> None:
    """Raise PolicyError (one line) now if `solve` would refuse the scenario at the start."""
    rates = rates_of(scenario)
    _check_size(scenario, rates, initial_caps(rates), max_states)


def _check_size(scenario: Scenario, rates: Rates, caps: Sequence[int], max_states: int) -> None:
    states = state_count(rates, caps)
    if states > max_states:
        raise PolicyError(
            f"{scenario.name}: {states:,} states (queue caps {list(caps)}) exceed the exact "
            f"solver's limit of {max_states:,}: use fewer agents, types or shorter patience")


def _optimal_policy(mdp: RoutingMDP,
                    rtol: float) -> tuple[ValueIteration, np.ndarray, Evaluation]:
    """Value iteration, then the greedy policy, evaluated; tighten until it is within bounds.

    The greedy policy of a near-converged h is optimal in practice; evaluating
    it checks that: its cost must not exceed the upper bound on the optimum
    by more than rtol, else value iteration goes on with a tighter tolerance.
    """
    iteration = relative_value_iteration(mdp, rtol)
    for _attempt in range(4):
        action = mdp.greedy(mdp.step_cost + mdp.transitions @ iteration.relative_value)
        evaluation = evaluate(mdp, action, rtol, start=iteration.relative_value)
        if evaluation.bounds_per_hour[0] <= iteration.upper_per_hour * (1 + rtol):
            return iteration, action, evaluation
        rtol /= 10
        iteration = relative_value_iteration(mdp, rtol, start=iteration.relative_value)
    raise PolicyError("the greedy policy stays above the optimal cost bounds")


def initial_caps(rates: Rates) -> list[int]:
    """A first guess per type: where a reference queue's tail drops below TAIL_MASS.

    The reference for type t is M/M/c+M with every agent able to serve t
    (c of them at their mean rate) and nothing else to do; sharing agents and
    holding lengthen real queues, which the cap growth in `solve` catches.
    Tickets that abandon never need more than the queue with no service at
    all (Poisson with mean inflow / theta), which bounds the guess.
    """
    inflow = rates.inflow()
    caps = []
    for t, name in enumerate(rates.type_names):
        capable = rates.service[:, t] > 0
        servers = int(rates.agents[capable].sum())
        mean_rate = (float(rates.agents[capable] @ rates.service[capable, t]) / servers
                     if servers else 0.0)
        theta = float(rates.abandon[t])
        if theta == 0 and inflow[t] > 0 and inflow[t] >= servers * mean_rate:
            raise PolicyError(f"{rates.scenario}: ticket_types.{name}: never abandons and its "
                              f"agents cannot keep up (inflow {inflow[t] * 60:g}/h, capacity "
                              f"{servers * mean_rate * 60:g}/h): no finite optimal cost")
        guess = _tail_point(inflow[t], lambda q, c=servers, m=mean_rate, th=theta:
                            min(q, c) * m + q * th)
        if theta > 0:
            guess = min(guess, _tail_point(inflow[t], lambda q, th=theta: q * th))
        caps.append(max(guess, 2))
    return caps


def _tail_point(birth: float, death, limit: int = 100_000) -> int:
    """Smallest q with P(X >= q) < TAIL_MASS for the birth-death chain (birth, death(q))."""
    if birth == 0:
        return 0
    log_mass = [0.0]
    q = 0
    while q < limit:  # walk on until the terms are negligible and falling
        q += 1
        log_mass.append(log_mass[-1] + math.log(birth) - math.log(death(q)))
        if log_mass[-1] < log_mass[0] - 50 and log_mass[-1] < log_mass[-2]:
            break
    logs = np.array(log_mass)
    mass = np.exp(logs - logs.max())
    tail = np.cumsum(mass[::-1])[::-1] / mass.sum()
    return int(np.argmax(tail < TAIL_MASS))


def _grown_caps(mdp: RoutingMDP, evaluation: Evaluation, caps: list[int],
                over: np.ndarray) -> list[int]:
    """Extend each overfull queue by its observed geometric tail decay, to TAIL_MASS / 10."""
    grown = list(caps)
    queue = mdp.space.queue
    for t in np.flatnonzero(over):
        at_cap = evaluation.cap_mass[t]
        below = evaluation.occupancy[queue[:, t] == caps[t] - 1].sum()
        ratio = at_cap / below if below > 0 else 1.0
        extra = (math.ceil(math.log(TAIL_MASS / 10 / at_cap) / math.log(ratio))
                 if 0 < ratio < 1 else caps[t])
        grown[t] = caps[t] + min(max(extra, 2), max(caps[t], 2))
    return grown


# -- heuristics evaluated exactly in the MDP ------------------------------------------


class _NeedsHistory(Exception):
    """A heuristic read something the MDP state does not hold (a waiting time)."""


class _StateView:
    """What a heuristic sees, built from the MDP state instead of a running model.

    The constants come from a SupportModel of the same scenario, so scores are
    the very floats the simulator compares.
    """

    def __init__(self, model: SupportModel, agents: Sequence[int]) -> None:
        for name in ("n_types", "n_groups", "hold", "pair_type", "pair_group", "wait_cost",
                     "abandon_cost", "abandon_rate", "service_rate", "sla_minutes", "speed"):
            setattr(self, name, getattr(model, name))
        self.now = 0.0
        self.agents = list(agents)
        self._arrival = [model.arrival_rate(t) for t in range(model.n_types)]
        self.queue_length: list[int] = [0] * self.n_types
        self.busy: list[list[int]] = [[0] * self.n_types for _ in range(self.n_groups)]

    def idle_agents(self, group: int) -> int:
        return self.agents[group] - sum(self.busy[group])

    def head_wait(self, ticket_type: int) -> float:
        raise _NeedsHistory

    def longest_idle_minutes(self, group: int) -> float:
        raise _NeedsHistory

    def arrival_rate(self, ticket_type: int) -> float:
        return self._arrival[ticket_type]


@dataclass(frozen=True)
class HeuristicCost:
    cost_per_hour: float | None
    note: str = ""


def heuristic_costs(scenario: Scenario, mdp: RoutingMDP,
                    names: Sequence[str] | None = None) -> dict[str, HeuristicCost]:
    """Exact long-run cost of each heuristic whose choice depends on the MDP state only."""
    model = SupportModel(scenario, 0)
    view = _StateView(model, [int(n) for n in mdp.rates.agents])
    results = {}
    for name in names or list(HEURISTICS):
        heuristic = HEURISTICS[name]()
        if type(heuristic).decide is not Heuristic.decide:
            results[name] = HeuristicCost(None, "randomised: simulate it")
            continue
        try:
            action, tied = _heuristic_action(mdp, heuristic, view)
        except _NeedsHistory:
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


def _heuristic_action(mdp: RoutingMDP, heuristic: Heuristic,
                      view: _StateView) -> tuple[np.ndarray, bool]:
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
            view.queue_length = space.queue[s].tolist()
            view.busy = space.busy[s].tolist()
            scores = [heuristic.score(view, view.pair_type[p], view.pair_group[p])
                      for p in pairs]
            top = max(scores)
            winners = [p for p, score in zip(pairs, scores, strict=True) if score == top]
            tied |= len(winners) > 1
            action[s] = min(winners)
    return action, tied


# -- the policy the simulator runs ----------------------------------------------------


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


def cache_dir() -> Path | None:
    """results/runs/cache/optimal under the working directory; ROUTELAB_CACHE_DIR
    overrides it and `off` (or empty) turns the disk cache off."""
    value = os.environ.get("ROUTELAB_CACHE_DIR")
    if value is None:
        return Path("results/runs/cache/optimal")
    return None if value in ("", "off") else Path(value)


def _cache_path(sha256: str) -> Path | None:
    folder = cache_dir()
    return folder / f"{sha256[:24]}-v{SOLVER_VERSION}.npz" if folder else None


def _read_cache(scenario: Scenario) -> Solution | None:
    """A stored solution of exactly this scenario and solver version, or None."""
    path = _cache_path(scenario.sha256())
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            facts = json.loads(str(stored["summary"]))
            action = stored["action"].astype(np.int64)
        if facts["scenario_sha256"] != scenario.sha256():
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
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable or from another layout: solve again


def _write_cache(solution: Solution) -> None:
    """Best effort: a cache that cannot be written only costs a solve next time."""
    path = _cache_path(solution.scenario_sha256)
    if path is None:
        return
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz", dir=path.parent)
        tmp = Path(name)
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, action=solution.action.astype(np.int16),
                                summary=np.array(json.dumps(solution.summary())))
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
