"""A lookup table's key: each feature read from the decision view, then binned.

The one place that says what a table feature means (docs/lookup-table.md).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence

from sim.decision import DecisionView
from sim.scenario import MINUTES_PER_HOUR, Scenario

HOLD = "hold"
PAIR_SEPARATOR = "->"
# Feature kind -> what it is keyed by ("type", "group" or nothing).
FEATURE_KINDS = {"queue_len": "type", "head_wait_min": "type", "idle_agents": "group",
                 "hour_of_day": None}

Getter = Callable[[DecisionView], float]


def bin_index(value: float, edges: Sequence[float]) -> int:
    """Bin i holds edges[i] <= value < edges[i+1]; the last bin is open; below edges[0] is 0."""
    return max(bisect_right(edges, value) - 1, 0)


def pair_name(scenario: Scenario, pair: int) -> str:
    """The table's name of a model action: `type->group`, or `hold`."""
    types, groups = scenario.type_names, scenario.group_names
    if pair == len(types) * len(groups):
        return HOLD
    return f"{types[pair // len(groups)]}{PAIR_SEPARATOR}{groups[pair % len(groups)]}"


def feature_getter(name: str, scenario: Scenario) -> Getter:
    """How to read one feature from the live state; ValueError names what is wrong."""
    kind, _, subject = name.partition(".")
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature {name!r} (known kinds: {', '.join(FEATURE_KINDS)})")
    keyed_by = FEATURE_KINDS[kind]
    if keyed_by is None:
        if subject:
            raise ValueError(f"feature {kind} takes no subject, got {name!r}")
        return _hour_of_day
    names = scenario.type_names if keyed_by == "type" else scenario.group_names
    if subject not in names:
        raise ValueError(f"unknown {'ticket type' if keyed_by == 'type' else 'agent group'} "
                         f"{subject!r} in scenario {scenario.name}")
    i = names.index(subject)
    if kind == "queue_len":
        return lambda view: view.queue_length[i]
    if kind == "head_wait_min":
        return lambda view: view.head_wait(i)
    return lambda view: view.idle_agents(i)


def _hour_of_day(view: DecisionView) -> float:
    return (view.now / MINUTES_PER_HOUR) % 24


def state_key(features: Sequence[tuple[Getter, Sequence[float]]], view: DecisionView
              ) -> tuple[int, ...]:
    """The bin index of each feature (`bin_index`, inlined: this is the hot path)."""
    key = []
    for get, edges in features:
        i = bisect_right(edges, get(view))
        key.append(i - 1 if i else 0)
    return tuple(key)
