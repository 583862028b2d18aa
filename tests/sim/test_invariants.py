"""Invariants of any run, over random small scenarios and random heuristic policies.

Hypothesis builds scenarios with 1-3 ticket types and 1-3 agent groups (random
skill subsets that cover every type, random speeds), with or without
patience, constant head counts or shifts that may wrap midnight, transfers,
surges, absences and a warm-up; then one run is checked against rules that
must hold whatever the numbers: ticket outcomes, agents and their shifts,
skills, waits, and the summary's arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.heuristics import HEURISTICS
from sim.metrics import ALL, summary_rows, ticket_table
from sim.model import SupportModel
from sim.scenario import AgentGroup, Scenario, parse_scenario
from sim.scenario_rules import peak_agents

TYPE_NAMES = ("a", "b", "c")
GROUP_NAMES = ("g0", "g1", "g2")


@st.composite
def durations(draw: st.DrawFn, low: float, high: float) -> dict[str, object]:
    kind = draw(st.sampled_from(["exponential", "lognormal", "gamma", "deterministic"]))
    law: dict[str, object] = {"dist": kind, "mean": draw(st.floats(low, high))}
    if kind in ("lognormal", "gamma"):
        law["cv"] = draw(st.floats(0.2, 2.0))
    return law


@st.composite
def staffing(draw: st.DrawFn) -> dict[str, object]:
    if draw(st.booleans()):
        return {"agents": draw(st.integers(1, 4))}
    shifts = []
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, 23))
        length = draw(st.integers(1, 16))
        end = (start + length) % 24  # end < start wraps midnight
        shifts.append({"start_hour": start, "end_hour": end or 24,
                       "agents": draw(st.integers(1, 3))})
    return {"shifts": shifts}


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    types = list(TYPE_NAMES[: draw(st.integers(1, 3))])
    groups = list(GROUP_NAMES[: draw(st.integers(1, 3))])
    horizon = draw(st.integers(2, 30))
    ticket_types = {}
    for name in types:
        spec: dict[str, object] = {
            "arrivals_per_hour": draw(st.floats(1, 40)),
            "handle_minutes": draw(durations(1, 12)),
            "wait_cost_per_minute": draw(st.floats(0, 5)),
            "abandon_cost": draw(st.floats(0, 20)),
        }
        if draw(st.booleans()):
            spec["patience_minutes"] = draw(durations(1, 30))
        if draw(st.booleans()):
            spec["sla_minutes"] = draw(st.floats(0.5, 30))
        if draw(st.booleans()):
            spec["hourly_profile"] = draw(st.lists(st.floats(0, 2), min_size=24, max_size=24))
        others = [t for t in types if t != name] or [name]
        targets = draw(st.lists(st.sampled_from(others), unique=True, max_size=2))
        spec["transfers"] = {t: draw(st.floats(0, 0.4)) for t in targets}
        ticket_types[name] = spec
    skills = {g: set(draw(st.lists(st.sampled_from(types), unique=True, max_size=3)))
              for g in groups}
    for name in types:  # every type is served by some group
        if not any(name in s for s in skills.values()):
            skills[draw(st.sampled_from(groups))].add(name)
    agent_groups = {
        g: {**draw(staffing()),
            "skills": {t: draw(st.floats(0.3, 2.0)) for t in sorted(skills[g])}}
        for g in groups if skills[g]
    }
    events = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, horizon - 1))
        end = draw(st.integers(start + 1, horizon + 2))
        if draw(st.booleans()):
            events.append({"kind": "surge", "start_hour": start, "end_hour": end,
                           "ticket_types": draw(st.lists(st.sampled_from(types), min_size=1,
                                                         unique=True)),
                           "factor": draw(st.floats(0, 4))})
        else:
            group = draw(st.sampled_from(sorted(agent_groups)))
            # No more absent than the group has on shift in that window (a scenario rule).
            most = peak_agents(AgentGroup.model_validate(agent_groups[group]), start, end)
            events.append({"kind": "absence", "start_hour": start, "end_hour": end,
                           "group": group, "agents": draw(st.integers(0, min(3, most)))})
    return parse_scenario({
        "name": "random_small",
        "horizon_hours": horizon,
        "warmup_hours": draw(st.sampled_from([0, 0, 0.5, 1.0])),
        "ticket_types": ticket_types,
        "agent_groups": agent_groups,
        "events": events,
    }, "<hypothesis>")


def _run(scenario: Scenario, policy_name: str, seed: int) -> tuple[SupportModel, pd.DataFrame]:
    model = SupportModel(scenario, seed, track_cost=True).run(HEURISTICS[policy_name]())
    return model, ticket_table(model)


def _head_count(plan: list[tuple[float, int]], minutes: np.ndarray) -> np.ndarray:
    """Staffed head count at each time; a change at time t already applies at t."""
    times = np.array([m for m, _ in plan])
    counts = np.array([c for _, c in plan])
    index = np.searchsorted(times, minutes, side="right") - 1
    return np.where(index >= 0, counts[np.maximum(index, 0)], 0)


def check_outcomes(model: SupportModel, tickets: pd.DataFrame) -> None:
    counted = tickets[tickets["counted"]]
    outcome = counted["outcome"].astype(str)
    assert outcome.isin(["served", "abandoned", "unresolved"]).all()
    served = counted[outcome == "served"]
    assert np.isfinite(served[["start_min", "end_min"]].to_numpy()).all()
    assert (served["end_min"] >= served["start_min"]).all()
    wait = served["start_min"] - served["arrival_min"]
    assert (wait >= 0).all()
    assert np.array_equal(served["wait_min"].to_numpy(), wait.to_numpy())
    abandoned = counted[outcome == "abandoned"]
    assert abandoned["start_min"].isna().all()
    assert (abandoned["end_min"] >= abandoned["arrival_min"]).all()
    patient = {t for t, on in zip(model.scenario.type_names, model.has_patience, strict=True) if on}
    assert abandoned["ticket_type"].astype(str).isin(patient).all()
    # Unresolved means nobody able to answer was left on shift after the horizon.
    unresolved = counted[outcome == "unresolved"]
    assert unresolved["start_min"].isna().all()
    for t, end in zip(unresolved["ticket_type"].cat.codes, unresolved["end_min"], strict=True):
        assert end >= model.horizon
        for g in model.groups_of[t]:
            assert _head_count(model.staffing[g], np.array([end]))[0] == 0, (t, g, end)


def check_agents(model: SupportModel, tickets: pd.DataFrame) -> None:
    started = tickets[tickets["start_min"].notna()]
    group = started["agent_group"].cat.codes.to_numpy()
    ticket_type = started["ticket_type"].cat.codes.to_numpy()
    assert (np.asarray(model.speed)[group, ticket_type] > 0).all(), "served without the skill"
    assert (started["agent_id"] >= 0).all()
    # Each agent belongs to one group, and serves one ticket at a time.
    assert (started.groupby("agent_id")["agent_group"].nunique(dropna=False) == 1).all()
    end = started["end_min"].fillna(math.inf)
    ordered = started.assign(end_min=end).sort_values(["agent_id", "start_min"])
    same_agent = ordered["agent_id"].to_numpy()[1:] == ordered["agent_id"].to_numpy()[:-1]
    gaps = ordered["start_min"].to_numpy()[1:] - ordered["end_min"].to_numpy()[:-1]
    assert (gaps[same_agent] >= 0).all(), "an agent served two tickets at once"
    # At every start, the group's busy agents (the new one included) fit the
    # staffed head count; only agents finishing a ticket in hand may exceed it.
    for g in range(model.n_groups):
        mine = started[group == g]
        if mine.empty:
            continue
        starts = np.sort(mine["start_min"].to_numpy())
        ends = np.sort(mine["end_min"].fillna(math.inf).to_numpy())
        busy = np.searchsorted(starts, starts, side="right") - np.searchsorted(ends, starts,
                                                                                side="right")
        allowed = _head_count(model.staffing[g], starts)
        over = busy > allowed
        assert not over.any(), (g, starts[over][:3], busy[over][:3], allowed[over][:3])


def check_summary(model: SupportModel, tickets: pd.DataFrame) -> None:
    summary = summary_rows(model, tickets, "any").set_index("ticket_type")
    outcomes = summary["served"] + summary["abandoned"] + summary["unresolved"]
    assert (summary["arrived"] == outcomes).all()
    per_type = summary.drop(index=ALL)
    for column in ("arrived", "served", "abandoned", "unresolved"):
        assert summary.loc[ALL, column] == per_type[column].sum()
    assert summary.loc[ALL, "arrived"] == tickets["counted"].sum()
    assert math.isclose(summary.loc[ALL, "cost"], per_type["cost"].sum(), rel_tol=1e-9,
                        abs_tol=1e-9)
    if model.warmup == 0:
        # Every ticket is counted, so the cost the env hands out as rewards
        # adds up to the reported cost.
        assert math.isclose(model.accrued_cost(), summary.loc[ALL, "cost"], rel_tol=1e-9,
                            abs_tol=1e-6)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), policy_name=st.sampled_from(sorted(HEURISTICS)),
       seed=st.integers(0, 2**31 - 1))
def test_every_run_keeps_the_invariants(scenario: Scenario, policy_name: str, seed: int):
    model, tickets = _run(scenario, policy_name, seed)
    check_outcomes(model, tickets)
    check_agents(model, tickets)
    check_summary(model, tickets)


# -- the checks have teeth ---------------------------------------------------------


def _busy_day() -> tuple[SupportModel, pd.DataFrame]:
    scenario = parse_scenario({
        "name": "busy_day", "horizon_hours": 6,
        "ticket_types": {
            "a": {"arrivals_per_hour": 40, "handle_minutes": {"dist": "exponential", "mean": 4},
                  "patience_minutes": {"dist": "exponential", "mean": 5}},
            "b": {"arrivals_per_hour": 20, "handle_minutes": {"dist": "exponential", "mean": 6}},
        },
        "agent_groups": {
            "g0": {"agents": 2, "skills": {"a": 1.0}},
            "g1": {"shifts": [{"start_hour": 0, "end_hour": 3, "agents": 3},
                              {"start_hour": 2, "end_hour": 5, "agents": 1}],
                   "skills": {"a": 0.5, "b": 1.0}},
        },
    }, "<busy_day>")
    return _run(scenario, "fifo", seed=5)


def _overlap(model: SupportModel, tickets: pd.DataFrame) -> None:
    served = tickets[tickets["outcome"] == "served"]
    agent = served["agent_id"].value_counts().index[0]
    first, second = served[served["agent_id"] == agent].sort_values("start_min").index[:2]
    tickets.loc[first, "end_min"] = tickets.loc[second, "start_min"] + 1e-6


def _no_skill(model: SupportModel, tickets: pd.DataFrame) -> None:
    b_ticket = tickets[(tickets["ticket_type"] == "b") & (tickets["outcome"] == "served")].index[0]
    tickets.loc[b_ticket, "agent_group"] = "g0"


def _left_waiting(model: SupportModel, tickets: pd.DataFrame) -> None:
    tickets.loc[tickets[tickets["counted"]].index[-1], "outcome"] = "waiting"


def _one_head_fewer(model: SupportModel, tickets: pd.DataFrame) -> None:
    model.staffing = [[(minute, max(count - 1, 0)) for minute, count in plan]
                      for plan in model.staffing]


@pytest.mark.parametrize("break_it, check", [
    (_overlap, check_agents), (_no_skill, check_agents), (_one_head_fewer, check_agents),
    (_left_waiting, check_outcomes),
])
def test_the_checks_catch_a_broken_run(break_it, check):
    model, tickets = _busy_day()
    check(model, tickets)  # the honest run passes
    break_it(model, tickets)
    with pytest.raises(AssertionError):
        check(model, tickets)
