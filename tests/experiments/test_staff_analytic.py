"""The analytic parts of `routelab staff`: Erlang C and A, the per-type plan, shifts, rosters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.errors import UserError
from experiments.staffing import erlang
from experiments.staffing.plan import per_type_plan, type_requirements
from experiments.staffing.problem import (
    coverage,
    hour_blocks,
    original_roster,
    staffing_problem,
    with_roster,
)
from experiments.staffing.shifts import cover_matrix, shift_starts, shifts_of
from sim.scenario import load_scenario, parse_scenario
from sim.schedule import staffing_plan
from tests.sim.exact import ErlangA as ExactErlangA
from tests.sim.exact import ErlangC as ExactErlangC

# -- Erlang C and A ------------------------------------------------------------------------


def test_erlang_c_reproduces_the_published_worked_example():
    # 100 calls per 30 minutes, 3-minute calls (10 Erlangs), 14 agents, answer within 20 s
    # (CONVENTIONS.md; pyworkforce's README gives the same figures).
    arrival, service = 100 / 30, 1 / 3
    assert erlang.erlang_c(14, 10.0) == pytest.approx(0.1741, abs=5e-5)
    assert erlang.erlang_c_service_level(14, arrival, service, 20 / 60) == pytest.approx(
        0.8884, abs=5e-5)
    assert erlang.required_agents(arrival, service, 20 / 60, 0.8) == 14


@pytest.mark.parametrize("agents,arrival,service,minutes", [
    (12, 100 / 60, 1 / 6, 0.5), (3, 0.2, 0.1, 1.0), (30, 4.0, 1 / 7, 3.0)])
def test_erlang_c_service_level_matches_the_exact_queue(agents, arrival, service, minutes):
    exact = ExactErlangC(agents, arrival, service)
    assert erlang.erlang_c_service_level(agents, arrival, service, minutes) == pytest.approx(
        exact.service_level(minutes), abs=1e-12)


def test_erlang_a_matches_the_exact_chain_and_the_scenario_figure():
    # scenarios/erlang_a.yaml: M/M/8+M at 110% load; its comment gives 0.44 answered in 1 min.
    arrival, service, abandon = 66 / 60, 1 / 8, 1 / 10
    level = erlang.erlang_a_service_level(8, arrival, service, 1.0, abandon)
    assert level == pytest.approx(ExactErlangA(8, arrival, service, abandon).service_level(1.0),
                                  abs=1e-9)
    assert level == pytest.approx(0.44, abs=0.005)


def test_erlang_a_tends_to_erlang_c_as_patience_grows():
    c_level = erlang.erlang_c_service_level(10, 1.5, 0.2, 0.5)
    a_level = erlang.erlang_a_service_level(10, 1.5, 0.2, 0.5, 1e-7)
    assert a_level == pytest.approx(c_level, abs=1e-5)


@pytest.mark.parametrize("arrival,service,minutes,target,abandon", [
    (1.8, 0.2, 0.5, 0.8, 0.0), (0.1, 0.2, 0.5, 0.8, 0.0), (1.8, 0.2, 0.5, 0.8, 0.2),
    (0.25, 1 / 9, 1.0, 0.9, 0.2), (0.5, 1 / 12, 240.0, 0.9, 0.0), (3.0, 0.125, 1.0, 0.95, 0.1)])
def test_required_agents_is_the_fewest_that_reach_the_target(arrival, service, minutes, target,
                                                              abandon):
    agents = erlang.required_agents(arrival, service, minutes, target, abandon)
    assert erlang.service_level(agents, arrival, service, minutes, abandon) >= target
    assert erlang.service_level(agents - 1, arrival, service, minutes, abandon) < target


def test_abandonment_never_needs_more_agents_than_erlang_c():
    for load in (2.0, 8.0, 20.0):
        c = erlang.required_agents(load / 5, 0.2, 0.5, 0.8)
        a = erlang.required_agents(load / 5, 0.2, 0.5, 0.8, abandon_rate=0.2)
        assert a <= c


def test_required_agents_edge_cases():
    assert erlang.required_agents(0.0, 0.2, 0.5, 0.8) == 0
    with pytest.raises(ValueError, match="target"):
        erlang.required_agents(1.0, 0.2, 0.5, 1.0)


# -- what a scenario asks --------------------------------------------------------------------


def test_rates_carry_surges_and_transfers():
    problem = staffing_problem(load_scenario("fintech_day"))
    index = {name: k for k, name in enumerate(problem.types)}
    card = 30 * 1.7 * 3.0  # the incident triples card chats from 10:00 to 12:00
    assert problem.arrival_rate[index["card_issue"], 10] * 60 == pytest.approx(card)
    fraud = 12 * 1.4 + 0.05 * card  # 5% of card chats come back as fraud calls
    assert problem.arrival_rate[index["fraud"], 10] * 60 == pytest.approx(fraud)
    assert problem.absent[problem.groups.index("chat_team"), 13] == 2
    assert problem.team_of(index["card_issue"]) == problem.groups.index("chat_team")
    assert problem.team_of(index["vulnerable_customer"]) == problem.groups.index("customer_care")


def test_original_roster_averages_shifts_within_the_hour():
    scenario = parse_scenario({
        "name": "halves", "horizon_hours": 24,
        "ticket_types": {"a": {"arrivals_per_hour": 1, "handle_minutes": {"dist": "exponential",
                                                                            "mean": 1},
                               "sla_minutes": 1, "sla_target": 0.5}},
        "agent_groups": {"g": {"shifts": [{"start_hour": 7.5, "end_hour": 15, "agents": 4},
                                          {"start_hour": 22, "end_hour": 6, "agents": 2}],
                               "skills": {"a": 1.0}}}})
    roster = original_roster(scenario)[0]
    assert roster[7] == pytest.approx(2.0) and roster[8] == 4 and roster[15] == 0
    assert roster[23] == 2 and roster[5] == 2 and roster[6] == 0


def test_a_roster_becomes_the_staffing_plan_it_describes():
    scenario = load_scenario("single_queue_day")
    counts = np.array([2, 2, 3, 0, 0, 5] + [4] * 18)
    blocks = hour_blocks(counts)
    assert [(b.start_hour, b.end_hour, b.agents) for b in blocks][:3] == [(0, 2, 2), (2, 3, 3),
                                                                          (5, 6, 5)]
    assert list(coverage(blocks)) == list(counts)
    staffed = with_roster(scenario, counts[None, :])
    plan = staffing_plan(staffed, "agents")
    assert plan[:4] == [(0.0, 2), (120.0, 3), (180.0, 0), (300.0, 5)]


def test_a_question_without_targets_is_refused():
    data = {"name": "none", "horizon_hours": 2,
            "ticket_types": {"a": {"arrivals_per_hour": 1,
                                   "handle_minutes": {"dist": "exponential", "mean": 1}}},
            "agent_groups": {"g": {"agents": 1, "skills": {"a": 1.0}}}}
    with pytest.raises(UserError, match="nothing to staff for"):
        staffing_problem(parse_scenario(data))
    data["ticket_types"]["a"].update(sla_minutes=1, sla_target=1.0)
    with pytest.raises(UserError, match=r"ticket_types\.a\.sla_target"):
        staffing_problem(parse_scenario(data))


def test_per_type_plan_staffs_each_hour_by_erlang_c():
    problem = staffing_problem(load_scenario("single_queue_day"))
    need = type_requirements(problem)
    plan = per_type_plan(problem, need)
    rate = problem.arrival_rate[0]
    for hour in range(24):
        agents = plan[0, hour]
        assert erlang.erlang_c_service_level(agents, rate[hour], 0.2, 0.5) >= 0.8
        assert erlang.erlang_c_service_level(agents - 1, rate[hour], 0.2, 0.5) < 0.8
    assert plan[0, 11] == 12 and plan[0, 3] == 2  # 9 and 0.5 Erlangs


# -- shifts ---------------------------------------------------------------------------------


def test_shifts_cover_the_requirement_with_the_fewest_agents():
    need = np.array([2] * 12 + [1] * 12)
    starts = shift_starts(need, 4)
    assert (cover_matrix(4) @ starts >= need).all()
    assert starts.sum() == math.ceil(need.sum() / 4) == 9  # no covering can use fewer


def test_shifts_follow_two_peaks_and_wrap_midnight():
    need = np.zeros(24, int)
    need[6:14], need[14:22] = 2, 4
    starts = shift_starts(need, 8)
    assert starts[6] == 2 and starts[14] == 4 and starts.sum() == 6
    night = np.zeros(24, int)
    night[22:], night[:6] = 1, 1
    shifts = shifts_of(shift_starts(night, 8), 8)
    assert [(s.start_hour, s.end_hour, s.agents) for s in shifts] == [(22, 6, 1)]
    assert list(coverage(shifts)) == list(night)


def test_day_long_shifts_and_bad_lengths():
    need = np.array([0] * 6 + [3] * 12 + [1] * 6)
    shifts = shifts_of(shift_starts(need, 24), 24)
    assert [(s.start_hour, s.end_hour, s.agents) for s in shifts] == [(0, 24, 3)]
    with pytest.raises(UserError, match="--shift-hours"):
        shift_starts(need, 0)
