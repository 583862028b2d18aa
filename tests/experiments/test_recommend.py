"""The recommendation rule on hand-built tables: cheapest meeting every target, else least short."""

from __future__ import annotations

import math

import pandas as pd

from experiments.recommend import recommend, standings, targets_of

TARGETS = {"fraud": 0.9, "chat": 0.8}


def by_type(levels: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """Rows (policy, ticket_type, seed, service_level) from {policy: {type: per-seed levels}}."""
    return pd.DataFrame([{"policy": p, "ticket_type": t, "seed": s, "service_level": v}
                         for p, types in levels.items() for t, values in types.items()
                         for s, v in enumerate(values)])


def test_the_cheapest_that_meets_every_target_beats_a_cheaper_one_that_misses() -> None:
    table = by_type({"cheap": {"fraud": [0.85, 0.87], "chat": [0.95, 0.95]},
                     "mid": {"fraud": [0.91, 0.92], "chat": [0.81, 0.80]},
                     "dear": {"fraud": [0.99, 0.99], "chat": [0.99, 0.99]}})
    costs = {"cheap": 100.0, "mid": 120.0, "dear": 150.0}
    ranked = standings(costs, table, TARGETS)
    assert [s.policy for s in ranked] == ["mid", "dear", "cheap"]
    assert ranked[0].meets and ranked[2].misses == ["fraud"]
    assert math.isclose(ranked[2].shortfall, 0.9 - 0.86)


def test_a_mean_over_seeds_decides_not_a_single_bad_day() -> None:
    table = by_type({"a": {"fraud": [0.80, 1.00], "chat": [0.8, 0.8]},
                     "b": {"fraud": [0.95, 0.95], "chat": [0.8, 0.8]}})
    assert recommend({"a": 10.0, "b": 20.0}, table, TARGETS).policy == "a"


def test_where_none_meets_the_least_total_shortfall_wins_whatever_it_costs() -> None:
    table = by_type({"cheap": {"fraud": [0.70], "chat": [0.80]},   # short 0.20
                     "dear": {"fraud": [0.85], "chat": [0.75]},    # short 0.05 + 0.05
                     "dearer": {"fraud": [0.86], "chat": [0.72]}})  # short 0.04 + 0.08
    best = recommend({"cheap": 1.0, "dear": 5.0, "dearer": 9.0}, table, TARGETS)
    assert not best.meets
    assert best.policy == "dear" and math.isclose(best.shortfall, 0.10)


def test_equal_shortfalls_go_to_the_cheaper() -> None:
    table = by_type({"x": {"fraud": [0.8], "chat": [0.8]}, "y": {"fraud": [0.8], "chat": [0.8]}})
    assert recommend({"x": 7.0, "y": 6.0}, table, TARGETS).policy == "y"


def test_without_targets_the_cheapest_wins_and_missing_types_are_no_shortfall() -> None:
    table = by_type({"x": {"fraud": [0.1]}, "y": {"fraud": [0.2]}})
    assert recommend({"x": 3.0, "y": 2.0}, table, {}).policy == "y"
    # a type with no ticket on any seed (NaN) falls short of nothing
    table = by_type({"x": {"fraud": [0.95], "chat": [math.nan]},
                     "y": {"fraud": [0.95], "chat": [0.5]}})
    assert recommend({"x": 3.0, "y": 2.0}, table, TARGETS).policy == "x"


def test_a_level_equal_to_its_target_up_to_rounding_meets_it() -> None:
    table = by_type({"x": {"fraud": [0.9 - 1e-13, 0.9 + 1e-13], "chat": [0.8, 0.8]},
                     "y": {"fraud": [0.99], "chat": [0.99]}})
    assert recommend({"x": 1.0, "y": 2.0}, table, TARGETS).policy == "x"


def test_targets_need_an_sla_time_to_count() -> None:
    scenario = {"ticket_types": {"a": {"sla_target": 0.8, "sla_minutes": 2},
                                 "b": {"sla_target": 0.9},
                                 "c": {"sla_minutes": 5}}}
    assert targets_of(scenario) == {"a": 0.8}
