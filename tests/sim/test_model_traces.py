"""Exact event times on hand-built micro-scenarios.

Arrival times are random, so each test reads them from the run and recomputes
every other time by hand (a Lindley-type recursion); the model must agree to
floating-point precision.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.heuristics import Fifo
from sim.metrics import summary_rows, ticket_table
from sim.model import SupportModel
from sim.schedule import ArrivalSchedule, staffing_plan
from tests.conftest import make_scenario

EXACT = 1e-9


def deterministic(mean: float) -> dict:
    return {"dist": "deterministic", "mean": mean}


def run(scenario, seed: int = 0, policy=None):
    model = SupportModel(scenario, seed).run(policy or Fifo())
    return model, ticket_table(model)


def test_single_agent_fifo_follows_lindley_recursion():
    scenario = make_scenario(
        horizon_hours=3,
        ticket_types={"a": {"arrivals_per_hour": 25, "handle_minutes": deterministic(2.0)}},
    )
    _, tickets = run(scenario)
    assert len(tickets) > 50
    free_at = 0.0
    for row in tickets.itertuples():
        start = max(row.arrival_min, free_at)
        free_at = start + 2.0
        assert row.start_min == pytest.approx(start, abs=EXACT)
        assert row.end_min == pytest.approx(free_at, abs=EXACT)
        assert row.outcome == "served"


def test_service_time_is_work_over_speed():
    scenario = make_scenario(
        ticket_types={"a": {"arrivals_per_hour": 10, "handle_minutes": deterministic(4.0)}},
        agent_groups={"g": {"agents": 3, "skills": {"a": 2.0}}},
    )
    _, tickets = run(scenario)
    served = tickets[tickets.outcome == "served"]
    np.testing.assert_allclose(served.end_min - served.start_min, 2.0, atol=EXACT)


def test_abandonment_at_arrival_plus_patience():
    scenario = make_scenario(
        horizon_hours=4,
        ticket_types={"a": {"arrivals_per_hour": 40, "handle_minutes": deterministic(3.0),
                            "patience_minutes": deterministic(1.5)}},
    )
    _, tickets = run(scenario, seed=3)
    expected = {}
    state = {"free_at": 0.0}
    waiting: list = []  # FIFO single server with reneging, by hand

    def serve_next() -> None:
        head = waiting.pop(0)
        if head.arrival_min + 1.5 <= state["free_at"]:
            expected[head.ticket_id] = ("abandoned", head.arrival_min + 1.5)
            return
        start = max(state["free_at"], head.arrival_min)
        expected[head.ticket_id] = ("served", start)
        state["free_at"] = start + 3.0

    rows = list(tickets.itertuples())
    for row in rows:
        # Serve everyone who can be served before this arrival.
        while waiting and state["free_at"] <= row.arrival_min:
            serve_next()
        waiting.append(row)
    while waiting:
        serve_next()
    outcomes = {o for o, _ in expected.values()}
    assert outcomes == {"served", "abandoned"}
    for row in rows:
        outcome, when = expected[row.ticket_id]
        assert row.outcome == outcome
        observed = row.start_min if outcome == "served" else row.end_min
        assert observed == pytest.approx(when, abs=EXACT)


def test_shift_end_agent_finishes_ticket_in_hand_then_leaves():
    scenario = make_scenario(
        horizon_hours=2,
        ticket_types={"a": {"arrivals_per_hour": 6, "handle_minutes": deterministic(25.0)}},
        agent_groups={"g": {"shifts": [{"start_hour": 0, "end_hour": 1, "agents": 1}],
                            "skills": {"a": 1.0}}},
    )
    model, tickets = run(scenario, seed=1)
    served = tickets[tickets.outcome == "served"]
    assert served.start_min.max() < 60.0
    assert served.end_min.max() > 60.0  # the ticket in hand at 60 min is finished
    free_at = 0.0
    for row in tickets.itertuples():
        start = max(row.arrival_min, free_at)
        if start >= 60.0:
            # Nobody is on shift after 60 min and the plan stays empty after
            # the horizon: the ticket is unresolved when the horizon is reached.
            assert row.outcome == "unresolved"
            assert row.end_min == pytest.approx(max(120.0, row.arrival_min), abs=EXACT)
            continue
        free_at = start + 25.0
        assert row.start_min == pytest.approx(start, abs=EXACT)
        assert row.end_min == pytest.approx(free_at, abs=EXACT)
    assert model.end_time == pytest.approx(120.0, abs=EXACT)


def test_shift_start_brings_agents_who_take_waiting_tickets_at_once():
    scenario = make_scenario(
        horizon_hours=3,
        ticket_types={"a": {"arrivals_per_hour": 12, "handle_minutes": deterministic(1.0)}},
        agent_groups={"g": {"shifts": [{"start_hour": 1, "end_hour": 3, "agents": 5}],
                            "skills": {"a": 1.0}}},
    )
    _, tickets = run(scenario)
    early = tickets[tickets.arrival_min < 60]
    assert len(early) > 3
    # Five agents arrive at 60 min; the five oldest tickets start then.
    np.testing.assert_allclose(np.sort(early.start_min.to_numpy())[:5], 60.0, atol=EXACT)
    late = tickets[tickets.arrival_min >= 60 + 5 * 1.0]
    assert (late.start_min - late.arrival_min).abs().max() < EXACT


def test_transfer_comes_back_as_new_ticket_at_end_of_service():
    scenario = make_scenario(
        horizon_hours=2,
        ticket_types={
            "a": {"arrivals_per_hour": 20, "handle_minutes": deterministic(1.0),
                  "transfers": {"b": 1.0}},
            "b": {"arrivals_per_hour": 0, "handle_minutes": deterministic(2.0)},
        },
        agent_groups={"front": {"agents": 4, "skills": {"a": 1.0}},
                      "back": {"agents": 4, "skills": {"b": 1.0}}},
    )
    _, tickets = run(scenario)
    parents = tickets[tickets.ticket_type == "a"].set_index("ticket_id")
    children = tickets[tickets.ticket_type == "b"]
    assert len(children) == len(parents[parents.outcome == "served"])
    for child in children.itertuples():
        parent = parents.loc[child.origin_id]
        assert child.transfer_depth == 1
        assert child.arrival_min == pytest.approx(parent.end_min, abs=EXACT)
        assert child.agent_group == "back"
        assert child.counted == parent.counted


def test_surge_multiplies_the_rate_inside_its_window():
    scenario = make_scenario(
        horizon_hours=2,
        events=[{"kind": "surge", "ticket_types": ["a"], "start_hour": 0.5, "end_hour": 1.0,
                 "factor": 3.0}],
    )
    schedule = ArrivalSchedule.for_type(scenario, "a")
    # 1 per minute before 30 min, 3 per minute until 60, then 1 again.
    assert schedule.time_of(29.0) == pytest.approx(29.0)
    assert schedule.time_of(30.0 + 45.0) == pytest.approx(45.0)
    assert schedule.time_of(120.0 + 10.0) == pytest.approx(70.0)
    assert schedule.time_of(180.0) is None  # 30 + 90 + 60 = 180 is the whole day
    assert schedule.rate_at(40.0) == pytest.approx(3.0)


def test_hourly_profile_and_zero_rate_hours():
    profile = [0.0] * 24
    profile[1] = 2.0
    scenario = make_scenario(
        horizon_hours=3,
        ticket_types={"a": {"arrivals_per_hour": 30, "hourly_profile": profile,
                            "handle_minutes": deterministic(0.5)}},
    )
    _, tickets = run(scenario)
    assert tickets.arrival_min.between(60.0, 120.0).all()
    schedule = ArrivalSchedule.for_type(scenario, "a")
    assert schedule.time_of(30.0) == pytest.approx(90.0)  # 1 per minute in hour 1


def test_staffing_plan_wraps_midnight_and_subtracts_absence():
    scenario = make_scenario(
        horizon_hours=24,
        agent_groups={"g": {"shifts": [{"start_hour": 22, "end_hour": 6, "agents": 2},
                                       {"start_hour": 8, "end_hour": 16, "agents": 5}],
                            "skills": {"a": 1.0}}},
        events=[{"kind": "absence", "group": "g", "start_hour": 9, "end_hour": 10, "agents": 3}],
    )
    plan = staffing_plan(scenario, "g")
    hours = [(m / 60, c) for m, c in plan]
    # After the horizon the night shift that began at 22:00 works until 06:00.
    assert hours == [(0, 2), (6, 0), (8, 5), (9, 2), (10, 5), (16, 0), (22, 2), (30, 0)]


def test_warmup_tickets_are_simulated_but_not_counted():
    scenario = make_scenario(horizon_hours=2, warmup_hours=1)
    model, tickets = run(scenario)
    assert (tickets.counted == (tickets.arrival_min >= 60.0)).all()
    summary = summary_rows(model, tickets, "fifo").set_index("ticket_type")
    assert summary.loc["ALL", "arrived"] == int((tickets.arrival_min >= 60.0).sum())
    expected_cost = tickets[tickets.counted].wait_min.sum()  # wait cost 1 per minute
    assert summary.loc["ALL", "cost"] == pytest.approx(expected_cost)
    assert summary.loc["ALL", "cost_per_hour"] == pytest.approx(expected_cost / 1.0)


def test_longest_idle_agent_takes_the_next_ticket():
    scenario = make_scenario(
        horizon_hours=5,
        ticket_types={"a": {"arrivals_per_hour": 3, "handle_minutes": deterministic(0.1)}},
        agent_groups={"g": {"agents": 3, "skills": {"a": 1.0}}},
    )
    _, tickets = run(scenario)
    # Light load: every ticket finds all three idle, so agents take turns.
    agents = tickets.agent_id.to_numpy()
    assert len(agents) > 6
    assert all(agents[i] == agents[i % 3] for i in range(len(agents)))
    assert len(set(agents[:3])) == 3


class HoldOnce:
    """Holds at the first decision, then behaves like fifo."""

    name, non_idling = "hold-once", False

    def __init__(self) -> None:
        self.calls: list[float] = []

    def reset(self, view, rng) -> None:
        pass

    def decide(self, view, pairs):
        self.calls.append(view.now)
        return view.hold if len(self.calls) == 1 else pairs[0]


def test_hold_leaves_agents_idle_until_the_next_event():
    scenario = make_scenario(
        horizon_hours=1,
        ticket_types={"a": {"arrivals_per_hour": 30, "handle_minutes": deterministic(0.5)}},
    )
    policy = HoldOnce()
    model, tickets = run(scenario, policy=policy)
    first, second = tickets.iloc[0], tickets.iloc[1]
    # The first ticket waits for the next event, the second arrival, and the
    # decision then is asked again at that instant.
    assert policy.calls[0] == pytest.approx(first.arrival_min, abs=EXACT)
    assert policy.calls[1] == pytest.approx(second.arrival_min, abs=EXACT)
    assert first.start_min == pytest.approx(second.arrival_min, abs=EXACT)
    assert model.decisions == len(policy.calls)


def test_unresolved_when_no_capable_agent_after_horizon():
    scenario = make_scenario(
        horizon_hours=1,
        ticket_types={"a": {"arrivals_per_hour": 30, "handle_minutes": deterministic(1.0)},
                      "b": {"arrivals_per_hour": 30, "handle_minutes": deterministic(1.0)}},
        agent_groups={"g": {"agents": 2, "skills": {"a": 1.0}},
                      "h": {"shifts": [{"start_hour": 0, "end_hour": 0.5, "agents": 1}],
                            "skills": {"b": 1.0}}},
    )
    model, tickets = run(scenario)
    late_b = tickets[(tickets.ticket_type == "b") & (tickets.outcome == "unresolved")]
    assert len(late_b) > 0
    assert (late_b.end_min == 60.0).all()
    assert (tickets[tickets.ticket_type == "a"].outcome == "served").all()
    summary = summary_rows(model, tickets, "fifo").set_index("ticket_type")
    assert summary.loc["b", "unresolved"] == len(late_b[late_b.counted])
    assert math.isclose(summary.loc["ALL", "unresolved"], summary.loc["b", "unresolved"])
