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

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agents.errors import PolicyError
from agents.exact import MAX_STATES
from agents.exact.mdp import Rates, RoutingMDP, rates_of, state_count
from sim.scenario import Scenario

SOLVER_VERSION = 2  # bump when the cached files' meaning or layout changes
TAIL_MASS = 1e-6  # largest share of time a queue may sit at its cap under the optimal policy
RTOL = 1e-6  # relative gap of the Odoni bounds at which value iteration stops
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
