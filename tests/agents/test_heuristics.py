"""Each heuristic picks the pair its rule says, on states built by hand."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from agents.errors import PolicyError
from agents.heuristics import HEURISTICS
from agents.registry import make_policy
from sim.model import SupportModel
from tests.conftest import make_scenario


@dataclass
class View:
    """A two-type, two-group state: pair index = t * 2 + g."""

    head_waits: list[float]
    queue_length: list[int]
    wait_cost: list[float] = field(default_factory=lambda: [1.0, 1.0])
    abandon_cost: list[float] = field(default_factory=lambda: [0.0, 0.0])
    abandon_rate: list[float] = field(default_factory=lambda: [0.0, 0.0])
    service_rate: list[list[float]] = field(default_factory=lambda: [[1.0, 1.0], [1.0, 1.0]])
    sla_minutes: list[float] = field(default_factory=lambda: [math.inf, math.inf])
    idle_for: list[float] = field(default_factory=lambda: [0.0, 0.0])
    now: float = 100.0
    n_types: int = 2
    n_groups: int = 2
    hold: int = 4
    pair_type: list[int] = field(default_factory=lambda: [0, 0, 1, 1])
    pair_group: list[int] = field(default_factory=lambda: [0, 1, 0, 1])

    def head_wait(self, t: int) -> float:
        return self.head_waits[t]

    def longest_idle_minutes(self, g: int) -> float:
        return self.idle_for[g]


def choose(name: str, view: View, pairs=(0, 2)) -> int:
    policy = HEURISTICS[name]()
    policy.reset(view, np.random.default_rng(0))
    return policy.decide(view, list(pairs))


def test_fifo_takes_the_oldest_head_of_line():
    assert choose("fifo", View(head_waits=[3.0, 5.0], queue_length=[9, 1])) == 2
    assert choose("fifo", View(head_waits=[6.0, 5.0], queue_length=[1, 9])) == 0


def test_priority_follows_wait_cost_then_age():
    view = View(head_waits=[1.0, 9.0], queue_length=[1, 1], wait_cost=[3.0, 1.0])
    assert choose("priority", view) == 0
    view.wait_cost = [2.0, 2.0]
    assert choose("priority", view) == 2


def test_cmu_weighs_cost_by_the_pairs_service_rate():
    # service_rate[g][t]: group 0 is slow on type 1, group 1 is fast on both.
    view = View(head_waits=[9.0, 1.0], queue_length=[1, 1], wait_cost=[1.0, 2.0],
                service_rate=[[1.0, 0.4], [1.0, 1.0]])
    # Scores: (t0,g0) 1, (t0,g1) 1, (t1,g0) 0.8, (t1,g1) 2.
    assert choose("cmu", view, pairs=(0, 1, 2, 3)) == 3
    assert choose("cmu", view, pairs=(0, 2)) == 0


def test_gcmu_grows_with_the_wait():
    view = View(head_waits=[2.0, 7.0], queue_length=[1, 1], wait_cost=[3.0, 1.0])
    assert choose("gcmu", view) == 2  # 7*1 > 2*3
    view.head_waits = [3.0, 7.0]
    assert choose("gcmu", view) == 0  # 3*3 > 7*1


def test_lqf_and_maxweight():
    view = View(head_waits=[9.0, 1.0], queue_length=[2, 5], wait_cost=[3.0, 1.0])
    assert choose("lqf", view) == 2
    assert choose("maxweight", view) == 0  # 2*3 > 5*1


def test_sla_takes_the_least_slack_and_types_without_sla_last():
    view = View(head_waits=[4.0, 1.0], queue_length=[1, 1], sla_minutes=[10.0, 2.0])
    assert choose("sla", view) == 2  # slack 1 < 6
    view.sla_minutes = [10.0, math.inf]
    assert choose("sla", view) == 0


def test_cmu_theta_index():
    view = View(head_waits=[1.0, 1.0], queue_length=[1, 1], wait_cost=[1.0, 1.0],
                abandon_cost=[10.0, 0.0], abandon_rate=[0.5, 0.1])
    # type 0: (1 + 10*0.5)*1/0.5 = 12; type 1: 1*1/0.1 = 10.
    assert choose("cmu_theta", view) == 0
    view.abandon_rate = [0.5, 0.0]  # a type that never abandons comes first
    assert choose("cmu_theta", view) == 2


def test_cmu_holding_adds_the_expected_abandonment_cost():
    view = View(head_waits=[1.0, 1.0], queue_length=[1, 1], wait_cost=[1.0, 2.0],
                abandon_cost=[10.0, 0.0], abandon_rate=[0.2, 0.5])
    # type 0: (1 + 10*0.2)*1 = 3 beats type 1: 2*1 = 2; plain c-mu says type 1.
    assert choose("cmu_holding", view) == 0
    assert choose("cmu", view) == 2


def test_closed_model_has_nothing_waiting():
    scenario = make_scenario(horizon_hours=1, ticket_types={
        "a": {"arrivals_per_hour": 200, "handle_minutes": {"dist": "exponential", "mean": 5}}},
        agent_groups={"g": {"shifts": [{"start_hour": 0, "end_hour": 0.5, "agents": 1}],
                            "skills": {"a": 1.0}}})
    model = SupportModel(scenario, 0).run(HEURISTICS["fifo"]())
    assert model.done and any(k.state == 4 for k in model.tickets)  # some unresolved
    assert model.queue_length == [0] and model.head_wait(0) == 0.0


def test_ties_go_to_the_longest_idle_group():
    view = View(head_waits=[5.0, 1.0], queue_length=[1, 1], idle_for=[1.0, 8.0])
    assert choose("fifo", view, pairs=(0, 1)) == 1


def test_random_is_uniform_over_feasible_pairs():
    view = View(head_waits=[1.0, 1.0], queue_length=[1, 1])
    policy = HEURISTICS["random"]()
    policy.reset(view, np.random.default_rng(1))
    picks = [policy.decide(view, [0, 1, 3]) for _ in range(3000)]
    counts = np.bincount(picks, minlength=4)
    assert counts[2] == 0
    # Each share is 1/3 with standard error sqrt(2/9/3000) = 0.0086: 5 s.e. = 0.043.
    assert np.all(np.abs(counts[[0, 1, 3]] / 3000 - 1 / 3) < 0.043)


@pytest.mark.parametrize("name", sorted(HEURISTICS))
def test_every_heuristic_runs_and_never_idles(name):
    scenario = make_scenario(
        horizon_hours=3,
        ticket_types={"a": {"arrivals_per_hour": 50, "handle_minutes": {"dist": "exponential", "mean": 4},
                            "patience_minutes": {"dist": "exponential", "mean": 6}, "sla_minutes": 2},
                      "b": {"arrivals_per_hour": 20, "handle_minutes": {"dist": "exponential", "mean": 5},
                            "wait_cost_per_minute": 2}},
        agent_groups={"x": {"agents": 3, "skills": {"a": 1.0, "b": 0.5}},
                      "y": {"agents": 2, "skills": {"b": 1.0}}},
    )
    model = SupportModel(scenario, 0)
    policy = make_policy(name, scenario)
    policy.reset(model, model.policy_rng)
    decisions = 0
    while (pairs := model.next_decision()) is not None:
        choice = policy.decide(model, pairs)
        assert choice in pairs  # never holds, never picks an infeasible pair
        t, g = model.pair_type[choice], model.pair_group[choice]
        assert model.queue_length[t] > 0 and model.idle_agents(g) > 0
        assert model.speed[g][t] > 0
        model.apply(choice)
        decisions += 1
    assert decisions > 100


def test_unknown_name_suggests_the_closest():
    with pytest.raises(PolicyError, match="did you mean cmu_theta"):
        make_policy("cmu_teta", make_scenario())
