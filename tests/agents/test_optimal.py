"""The exact solver against queueing theory, brute force, itself and the simulator.

Tolerances:
- Solver vs closed forms: the solver stops when its Odoni bounds are within
  RTOL = 1e-6 of each other, and truncation moves the cost by about
  (time at a cap <= 1e-6) x (arrival rate) x (charge per lost arrival), under
  1e-6 of the cost in these cases: 1e-5 relative leaves a margin of 5.
- Brute force: same truncated MDP, evaluated exactly by dense linear algebra,
  so only the solver's RTOL separates them: 1e-5 relative.
- Simulation: independent seeds are independent replications; the mean cost
  per hour over seeds carries a Student t interval at 99%.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from agents.errors import PolicyError
from agents.exact.heuristics import exact_heuristic_costs
from agents.exact.mdp import RoutingMDP, rates_of
from agents.exact.policy import optimal_policy
from agents.exact.solver import TAIL_MASS, solve
from agents.registry import make_policy
from experiments.cli import main
from sim.scenario import SCENARIO_DIR, load_scenario, parse_scenario

REL = 1e-5


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELAB_CACHE_DIR", str(tmp_path / "cache"))


def exponential(mean: float) -> dict:
    return {"dist": "exponential", "mean": mean}


def ticket(per_hour: float, handle: float, patience: float | None = None,
           wait_cost: float = 1.0, abandon_cost: float = 0.0) -> dict:
    spec = {"arrivals_per_hour": per_hour, "handle_minutes": exponential(handle),
            "wait_cost_per_minute": wait_cost, "abandon_cost": abandon_cost}
    if patience is not None:
        spec["patience_minutes"] = exponential(patience)
    return spec


def scenario(types: dict, groups: dict, **extra):
    return parse_scenario({"name": "tiny", "horizon_hours": 10, "ticket_types": types,
                           "agent_groups": groups, **extra}, "<test>")


# -- (a) one queue: every non-idling policy is optimal --------------------------------


def birth_death_queue(arrival: float, service: float, abandon: float, servers: int) -> float:
    """E[number waiting] of M/M/c+M from its birth-death chain, cut at 1e-15 tail mass."""
    log_p, k = [0.0], 0
    while True:
        k += 1
        death = min(k, servers) * service + max(k - servers, 0) * abandon
        log_p.append(log_p[-1] + math.log(arrival / death))
        if k > servers + 10 and log_p[-1] < log_p[0] - 35 and log_p[-1] < log_p[-2]:
            break
    p = np.exp(np.array(log_p) - max(log_p))
    p /= p.sum()
    return float(np.maximum(np.arange(len(p)) - servers, 0) @ p)


def erlang_c_queue(arrival: float, service: float, servers: int) -> float:
    """E[number waiting] of M/M/c by the Erlang B recursion (CONVENTIONS.md)."""
    load = arrival / service
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    wait_probability = servers * blocking / (servers - load * (1 - blocking))
    return arrival * wait_probability / (servers * service - arrival)


@pytest.mark.parametrize(("per_hour", "patience", "comes_back"),
                         [(30, 10.0, 0.0), (24, None, 0.0), (18, None, 0.2)],
                         ids=["erlang_a_overloaded", "erlang_c_at_80_percent",
                              "erlang_c_with_transfers"])
def test_single_queue_optimum_is_the_erlang_cost(per_hour, patience, comes_back):
    calls = ticket(per_hour, 6, patience, wait_cost=1.0, abandon_cost=5.0)
    if comes_back:
        calls["transfers"] = {"calls": comes_back}
    spec = scenario({"calls": calls}, {"agents": {"agents": 3, "skills": {"calls": 1.0}}})
    # A ticket that comes back after service (to the back of its own queue)
    # leaves the number in system unchanged: M/M/c at service rate mu (1 - p).
    arrival, service = per_hour / 60, (1 - comes_back) / 6
    if patience is None:
        waiting = erlang_c_queue(arrival, service, 3)
        per_minute = waiting * 1.0
    else:
        waiting = birth_death_queue(arrival, service, 1 / patience, 3)
        per_minute = waiting * (1.0 + 5.0 / patience)  # wait cost + abandon cost x theta
    solution = solve(spec)
    assert solution.cost_per_hour == pytest.approx(60 * per_minute, rel=REL)
    assert solution.holding_share == 0.0  # never idles while a ticket waits
    for name in ("cmu", "priority", "lqf"):
        assert exact_heuristic_costs(spec, solution.mdp, [name])[name].cost_per_hour == pytest.approx(
            solution.cost_per_hour, rel=REL)


# -- (b) brute force over every deterministic stationary policy ------------------------


class BruteForce:
    """The truncated MDP rebuilt by hand in continuous time, without the solver's code.

    States: (queue per type, busy (group, type) pairs as a sorted tuple). A
    policy picks, in every state where a pair could start, one pair or hold;
    starts chain until it holds. An arrival to a full queue is lost and
    charged wait_cost / theta + abandon_cost (the solver's documented rule).
    """

    def __init__(self, spec, caps):
        self.types, self.groups = spec.type_names, spec.group_names
        self.caps = caps
        tt = [spec.ticket_types[t] for t in self.types]
        self.arrival = [t.arrivals_per_hour / 60 for t in tt]
        self.theta = [1 / t.patience_minutes.mean for t in tt]
        self.cost = [t.wait_cost_per_minute + t.abandon_cost * th
                     for t, th in zip(tt, self.theta, strict=True)]
        self.lost = [t.wait_cost_per_minute / th + t.abandon_cost
                     for t, th in zip(tt, self.theta, strict=True)]
        groups = [spec.agent_groups[g] for g in self.groups]
        self.agents = [g.agents for g in groups]
        self.rate = {(t, g): groups[g].skills[name] / tt[t].handle_minutes.mean
                     for t, name in enumerate(self.types) for g in range(len(groups))
                     if name in groups[g].skills}
        busy_sets = [self._busy_of(g) for g in range(len(groups))]
        self.states = [(q, b) for q in itertools.product(*[range(c + 1) for c in caps])
                       for b in itertools.product(*busy_sets)]
        self.index = {s: i for i, s in enumerate(self.states)}

    def _busy_of(self, g):
        skills = [t for (t, gg) in self.rate if gg == g]
        return [combo for n in range(self.agents[g] + 1)
                for combo in itertools.combinations_with_replacement(skills, n)]

    def starts(self, state):
        q, busy = state
        out = []
        for (t, g) in sorted(self.rate):
            if q[t] > 0 and len(busy[g]) < self.agents[g]:
                q2 = tuple(n - (i == t) for i, n in enumerate(q))
                b2 = tuple(tuple(sorted(b + (t,))) if i == g else b for i, b in enumerate(busy))
                out.append(((t, g), (q2, b2)))
        return out

    def events(self, state):
        q, busy = state
        out = []
        for t in range(len(q)):
            if q[t] < self.caps[t]:
                out.append((self.arrival[t], (tuple(n + (i == t) for i, n in enumerate(q)), busy)))
            if q[t] > 0:
                out.append((q[t] * self.theta[t],
                            (tuple(n - (i == t) for i, n in enumerate(q)), busy)))
        for g, b in enumerate(busy):
            for t in set(b):
                left = list(b)
                left.remove(t)
                freed = tuple(tuple(left) if i == g else x for i, x in enumerate(busy))
                out.append((b.count(t) * self.rate[(t, g)], (q, freed)))
        return out

    def cost_rate(self, state):
        q, _ = state
        return sum(n * c for n, c in zip(q, self.cost, strict=True)) + sum(
            lam * lost for n, cap, lam, lost in zip(q, self.caps, self.arrival, self.lost,
                                                     strict=True) if n == cap)

    def decision_states(self):
        if not hasattr(self, "_decision_states"):
            self._decision_states = [s for s in self.states if self.starts(s)]
        return self._decision_states

    def cost_per_hour(self, choices: dict) -> np.ndarray | float:
        """Exact long-run cost of the policy `choices` (state -> (t, g) or None = hold)."""
        post = {}
        for s in sorted(self.states, key=lambda s: -sum(map(len, s[1]))):  # most busy first
            pair = choices.get(s)
            post[s] = s if pair is None else post[dict(self.starts(s))[pair]]
        n = len(self.states)
        generator = np.zeros((n, n))
        for s in self.states:  # only post-decision states are ever occupied
            i = self.index[s]
            for rate, nxt in self.events(s):
                generator[i, self.index[post[nxt]]] += rate
            generator[i, i] -= generator[i].sum()
        system = generator.T.copy()
        system[-1] = 1.0
        rhs = np.zeros(n)
        rhs[-1] = 1.0
        occupancy = np.linalg.solve(system, rhs)
        return 60 * float(occupancy @ np.array([self.cost_rate(s) for s in self.states]))

    def every_policy(self):
        options = [[None] + [pair for pair, _ in self.starts(s)] for s in self.decision_states()]
        for combo in itertools.product(*options):
            yield dict(zip(self.decision_states(), combo, strict=True))


TINY = {
    # One agent, two types: holding the agent for the rare urgent type can pay.
    "hold_for_urgent": (
        {"urgent": ticket(3, 2, 1, wait_cost=10, abandon_cost=200),
         "routine": ticket(12, 3, 20, wait_cost=0.5, abandon_cost=5)},
        {"desk": {"agents": 1, "skills": {"urgent": 1.0, "routine": 1.0}}},
        [2, 2]),
    # N model, one agent per group, queues of at most one ticket.
    "n_model": (
        {"a": ticket(20, 4, 10, wait_cost=2, abandon_cost=10),
         "b": ticket(12, 5, 15, wait_cost=1, abandon_cost=5)},
        {"solo": {"agents": 1, "skills": {"a": 1.0}},
         "flex": {"agents": 1, "skills": {"a": 0.5, "b": 1.0}}},
        [1, 1]),
}


@pytest.mark.parametrize("name", list(TINY))
def test_solver_matches_brute_force_over_all_policies(name):
    types, groups, caps = TINY[name]
    spec = scenario(types, groups)
    brute = BruteForce(spec, caps)
    policies = list(brute.every_policy())
    costs = [brute.cost_per_hour(p) for p in policies]
    best = min(costs)
    assert len(policies) >= 1000  # a real search, not a formality
    assert max(costs) > 1.2 * best  # and the choice matters

    solution = solve(spec, caps=caps)
    assert solution.cost_per_hour == pytest.approx(best, rel=REL)
    # The solver's own policy, read back state by state, is one of the best.
    mdp = solution.mdp
    n_groups = len(spec.group_names)
    mine = {}
    for s in brute.decision_states():
        q, busy = s
        busy_vector = [[b.count(t) for t in range(len(q))] for b in busy]
        action = int(solution.action[mdp.space.index_of(list(q), busy_vector)])
        mine[s] = None if action == mdp.hold else (action // n_groups, action % n_groups)
    assert brute.cost_per_hour(mine) == pytest.approx(best, rel=1e-9)
    if name == "hold_for_urgent":
        assert any(choice is None for choice in mine.values())  # holding is part of it


# -- (c) truncation ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["keep_free", "n_model"])
def test_raising_the_queue_caps_leaves_the_optimum(name):
    if not (SCENARIO_DIR / f"{name}.yaml").is_file():
        pytest.skip(f"scenarios/{name}.yaml not there")
    spec = load_scenario(name)
    solution = solve(spec)
    assert max(solution.cap_mass) <= TAIL_MASS
    raised = solve(spec, caps=[c + 6 for c in solution.caps])
    assert raised.cost_per_hour == pytest.approx(solution.cost_per_hour, rel=REL)
    # The check has teeth: queues cut far too short do move the cost.
    short = solve(spec, caps=[max(1, c // 4) for c in solution.caps])
    assert abs(short.cost_per_hour / solution.cost_per_hour - 1) > 10 * REL


# -- (d) the command line and what is out of reach -----------------------------------------


def test_solve_json_prints_the_cost(capsys):
    name = "n_model" if (SCENARIO_DIR / "n_model.yaml").is_file() else "keep_free"
    assert main(["solve", name, "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["cost_per_hour"] == pytest.approx(solve(load_scenario(name)).cost_per_hour,
                                                   rel=1e-9)
    assert facts["states"] > 1000
    assert set(facts["heuristics"]) >= {"cmu", "fifo"}
    cmu = facts["heuristics"]["cmu"]["cost_per_hour"]
    assert cmu >= facts["cost_per_hour"] * (1 - REL)


def write_scenario(path: Path, **changes) -> Path:
    data = yaml.safe_load((SCENARIO_DIR / "keep_free.yaml").read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("change", "words"), [
    ({"ticket_types.routine.handle_minutes": {"dist": "lognormal", "mean": 6, "cv": 1.2}},
     "lognormal"),
    ({"ticket_types.urgent.patience_minutes": {"dist": "deterministic", "mean": 1}},
     "deterministic"),
    ({"ticket_types.routine.hourly_profile": [1.0] * 24}, "hourly_profile"),
    ({"agent_groups.desk": {"shifts": [{"start_hour": 0, "end_hour": 24, "agents": 4}],
                            "skills": {"urgent": 1.0, "routine": 1.0}}}, "shifts"),
    ({"events": [{"kind": "surge", "ticket_types": ["urgent"], "start_hour": 1,
                  "end_hour": 2, "factor": 2}]}, "events"),
    ({"agent_groups.desk.agents": 400}, "states"),
])
def test_out_of_reach_scenarios_exit_2_with_one_line(tmp_path, capsys, change, words):
    path = write_scenario(tmp_path / "bad.yaml", **change)
    assert main(["solve", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and words in captured.err
    with pytest.raises(PolicyError):
        make_policy("optimal", load_scenario(path))


def test_queues_beyond_the_caps_use_the_decision_at_the_cap():
    spec = load_scenario("keep_free")
    policy = optimal_policy(spec)
    caps = policy.solution.caps
    inside = policy.space.index_of([0, caps[1]], [[0, 3]])
    beyond = policy.space.index_of([0, caps[1] + 50], [[0, 3]])
    assert inside == beyond


# -- (e) the simulator under the optimal policy ---------------------------------------------


def test_simulated_optimal_policy_costs_what_the_solver_says(tmp_path):
    spec = load_scenario("keep_free")
    solution = solve(spec)
    seeds = 16
    out = tmp_path / "sim"
    assert main(["simulate", "keep_free", "--policy", "optimal", "--seeds", str(seeds),
                 "--out", str(out), "--quiet"]) == 0
    summary = pd.read_csv(out / "summary.csv")
    per_seed = summary.loc[summary["ticket_type"] == "ALL", "cost_per_hour"].to_numpy()
    assert len(per_seed) == seeds
    half_width = stats.t.ppf(0.995, seeds - 1) * per_seed.std(ddof=1) / math.sqrt(seeds)
    assert abs(per_seed.mean() - solution.cost_per_hour) <= half_width
    # The interval is narrow enough to tell the optimum from the best heuristic.
    best_heuristic = min(c.cost_per_hour for c in exact_heuristic_costs(spec, solution.mdp).values()
                         if c.cost_per_hour is not None)
    assert half_width < 0.1 * solution.cost_per_hour
    assert best_heuristic > per_seed.mean() + 3 * half_width


def test_mdp_uniformisation_bounds_every_state_and_rows_sum_to_one():
    mdp = RoutingMDP(rates_of(load_scenario("keep_free")), [3, 5])
    rows = np.asarray(mdp.transitions.sum(axis=1)).ravel()
    assert np.allclose(rows, 1.0)
    assert mdp.transitions.min() >= 0
    assert (mdp.transitions.diagonal() > 0).all()  # self-loops everywhere: aperiodic
