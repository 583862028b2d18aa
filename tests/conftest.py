"""Shared fixtures: scenarios built in code for exact, small checks."""

from __future__ import annotations

from typing import Any

import pytest

from sim.scenario import Scenario, parse_scenario


def make_scenario(**overrides: Any) -> Scenario:
    """A one-type, one-group scenario; keyword arguments replace top-level fields."""
    data: dict[str, Any] = {
        "name": "micro",
        "horizon_hours": 1,
        "ticket_types": {"a": {"arrivals_per_hour": 60,
                               "handle_minutes": {"dist": "exponential", "mean": 1}}},
        "agent_groups": {"g": {"agents": 1, "skills": {"a": 1.0}}},
    }
    data.update(overrides)
    return parse_scenario(data, "<test>")


@pytest.fixture
def scenario_factory():
    return make_scenario
