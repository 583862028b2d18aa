"""`scenario_facts`: what a lookup table's fallback reads from its scenario, carried in the file.

Version 2 tables embed these facts so that a reader needs the file alone
(docs/lookup-table.md, section 2). `facts_view` is a decision state built from
the facts and plain values: the heuristics deciding through it read nothing
else, which is how the test vectors show the facts are complete.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agents.errors import PolicyError
from sim.scenario import Scenario
from sim.views import ScenarioConstants, StateView

Fail = Callable[[str, str], PolicyError]
TYPE_FIELDS = ("name", "channel", "wait_cost_per_minute", "abandon_cost",
               "abandon_rate_per_minute", "sla_minutes")
GROUP_FIELDS = ("name", "speed", "service_rate_per_minute")


def scenario_facts(scenario: Scenario) -> dict[str, Any]:
    """The facts of a scenario as they are written into a version 2 table."""
    types = []
    for name, spec in scenario.ticket_types.items():
        types.append({
            "name": name,
            "channel": spec.channel,
            "wait_cost_per_minute": float(spec.wait_cost_per_minute),
            "abandon_cost": float(spec.abandon_cost),
            # The rate the simulator's view carries: 1 / mean patience, 0 if none.
            "abandon_rate_per_minute": 1 / spec.patience_minutes.mean if spec.patience_minutes
            else 0.0,
            "sla_minutes": None if spec.sla_minutes is None else float(spec.sla_minutes),
        })
    groups = []
    for name, group in scenario.agent_groups.items():
        skills = [t for t in scenario.type_names if t in group.skills]  # scenario order
        groups.append({
            "name": name,
            "speed": {t: float(group.skills[t]) for t in skills},
            "service_rate_per_minute": {
                t: group.skills[t] / scenario.ticket_types[t].handle_minutes.mean for t in skills},
        })
    return {"ticket_types": types, "agent_groups": groups}


def canonical_scenario_json(scenario: Scenario) -> str:
    """The text `scenario_sha256` hashes (docs/lookup-table.md, section 9).

    It must stay what `Scenario.sha256` hashes; a test holds the two together.
    """
    content = scenario.model_dump(mode="json")
    for group in content["agent_groups"].values():
        if group["cost_per_agent_hour"] == 1.0:
            del group["cost_per_agent_hour"]
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Facts:
    """Checked facts, as lists in scenario order (service_rate[g][t] is 0 without the skill)."""

    type_names: tuple[str, ...]
    group_names: tuple[str, ...]
    wait_cost: tuple[float, ...]
    abandon_cost: tuple[float, ...]
    abandon_rate: tuple[float, ...]
    sla_minutes: tuple[float, ...]
    """+inf for a type without an SLA."""
    service_rate: tuple[tuple[float, ...], ...]


def check_facts(facts: object, fail: Fail, where: str = "scenario_facts") -> Facts:
    """Every rule of section 2 of the spec; the first broken one raises, naming the field."""
    if not isinstance(facts, dict):
        raise fail(where, f"expected an object, got {json_type(facts)}")
    for name in ("ticket_types", "agent_groups"):
        if name not in facts:
            raise fail(f"{where}.{name}", "required")
        if not isinstance(facts[name], list) or not facts[name]:
            raise fail(f"{where}.{name}", f"expected a non-empty list, got {json_type(facts[name])}")
    types = [_check_type(t, fail, f"{where}.ticket_types[{i}]")
             for i, t in enumerate(facts["ticket_types"])]
    type_names = _unique_names(types, fail, f"{where}.ticket_types")
    groups = [_check_group(g, type_names, fail, f"{where}.agent_groups[{i}]")
              for i, g in enumerate(facts["agent_groups"])]
    group_names = _unique_names(groups, fail, f"{where}.agent_groups")
    for i, name in enumerate(type_names):
        if not any(name in g["service_rate_per_minute"] for g in groups):
            raise fail(f"{where}.ticket_types[{i}].name", f"no agent group serves {name!r}")
    return Facts(
        type_names=tuple(type_names), group_names=tuple(group_names),
        wait_cost=tuple(float(t["wait_cost_per_minute"]) for t in types),
        abandon_cost=tuple(float(t["abandon_cost"]) for t in types),
        abandon_rate=tuple(float(t["abandon_rate_per_minute"]) for t in types),
        sla_minutes=tuple(math.inf if t["sla_minutes"] is None else float(t["sla_minutes"])
                          for t in types),
        service_rate=tuple(tuple(float(g["service_rate_per_minute"].get(t, 0.0))
                                 for t in type_names) for g in groups))


def _check_type(spec: object, fail: Fail, where: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise fail(where, f"expected an object, got {json_type(spec)}")
    for name in TYPE_FIELDS:
        if name not in spec:
            raise fail(f"{where}.{name}", "required")
    _check_name(spec["name"], fail, f"{where}.name")
    if not isinstance(spec["channel"], str):
        raise fail(f"{where}.channel", f"expected a string, got {json_type(spec['channel'])}")
    for name in ("wait_cost_per_minute", "abandon_cost", "abandon_rate_per_minute"):
        _check_number(spec[name], fail, f"{where}.{name}", ">= 0")
    if spec["sla_minutes"] is not None:
        _check_number(spec["sla_minutes"], fail, f"{where}.sla_minutes", "> 0 or null")
    return spec


def _check_group(spec: object, type_names: list[str], fail: Fail, where: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise fail(where, f"expected an object, got {json_type(spec)}")
    for name in GROUP_FIELDS:
        if name not in spec:
            raise fail(f"{where}.{name}", "required")
    _check_name(spec["name"], fail, f"{where}.name")
    for name in ("speed", "service_rate_per_minute"):
        values = spec[name]
        if not isinstance(values, dict) or not values:
            raise fail(f"{where}.{name}", "expected a non-empty object: ticket type -> number")
        for ticket_type, value in values.items():
            if ticket_type not in type_names:
                raise fail(f"{where}.{name}.{ticket_type}", "unknown ticket type")
            _check_number(value, fail, f"{where}.{name}.{ticket_type}", "> 0")
    if set(spec["speed"]) != set(spec["service_rate_per_minute"]):
        raise fail(f"{where}.service_rate_per_minute",
                   "must name the same ticket types as speed (the group's skills)")
    return spec


def _check_name(name: object, fail: Fail, where: str) -> None:
    if not isinstance(name, str) or not name:
        raise fail(where, f"expected a non-empty string, got {json_type(name)}")


def _check_number(value: object, fail: Fail, where: str, rule: str) -> None:
    """`rule` is '>= 0', '> 0' or '> 0 or null'."""
    if not is_number(value) or not math.isfinite(value):
        raise fail(where, f"expected a finite number {rule}, got {json.dumps(value)}")
    if value < 0 or (value == 0 and rule != ">= 0"):
        raise fail(where, f"must be {rule}, got {value}")


def _unique_names(specs: list[dict[str, Any]], fail: Fail, where: str) -> list[str]:
    names: list[str] = []
    for i, spec in enumerate(specs):
        if spec["name"] in names:
            raise fail(f"{where}[{i}].name", f"duplicate name {spec['name']!r}")
        names.append(spec["name"])
    return names


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


# -- a decision state from facts and plain values -------------------------------------------


def facts_view(facts: Facts, state: Mapping[str, Any]) -> StateView:
    """A `DecisionView` of a state written as in the test vectors, reading only the facts.

    `state` is `StateView.from_mapping`'s form. Arrival rates are not among the
    facts: a fallback that read them would raise `MissingFromState`, and the
    vectors could not be built from the facts alone.
    """
    constants = ScenarioConstants.from_values(
        facts.type_names, facts.group_names, facts.service_rate, facts.wait_cost,
        facts.abandon_cost, facts.abandon_rate, facts.sla_minutes)
    return StateView.from_mapping(constants, state)
