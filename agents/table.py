"""Lookup-table policies: read a `routelab-lookup-table` JSON file and route by it.

The schema and the exact lookup rule are in docs/lookup-table.md. Reading a
table needs the standard library only (numpy comes in through the heuristics);
never torch. Every problem with a file is a `PolicyError` naming file and field.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.heuristics import HEURISTICS, Heuristic
from agents.registry import PolicyError
from sim.decision import DecisionView
from sim.scenario import MINUTES_PER_HOUR, Scenario

FORMAT = "routelab-lookup-table"
VERSION = 1
HOLD = "hold"
PAIR_SEPARATOR = "->"
REQUIRED = ("format", "version", "scenario", "scenario_sha256", "source_policy", "features",
            "actions", "default", "rows")
# Feature kind -> what it is keyed by ("type", "group" or nothing).
FEATURE_KINDS = {"queue_len": "type", "head_wait_min": "type", "idle_agents": "group",
                 "hour_of_day": None}

Getter = Callable[[DecisionView], float]


@dataclass(frozen=True)
class LookupTable:
    """A table file whose structure has been checked; not yet bound to a scenario."""

    source: str
    document: dict[str, Any]
    feature_names: tuple[str, ...]
    edges: tuple[tuple[float, ...], ...]
    actions: tuple[str, ...]
    default: str
    rows: dict[tuple[int, ...], int]

    @property
    def scenario_sha256(self) -> str:
        return self.document["scenario_sha256"]


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


# -- reading and checking a file ----------------------------------------------------


def read_table(path: str | Path) -> LookupTable:
    """Read and check the structure of one table file (not its scenario)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{source}: cannot read ({getattr(error, 'strerror', None) or error})"
                          ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyError(f"{source}: not valid JSON (line {error.lineno} column {error.colno}: "
                          f"{error.msg})") from None
    return parse_table(document, source)


def parse_table(document: object, source: str = "<table>") -> LookupTable:
    """Check an already-parsed table document field by field."""

    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: {where}: {message}")

    if not isinstance(document, dict):
        raise PolicyError(f"{source}: expected a JSON object at the top level")
    if document.get("format") != FORMAT:
        raise fail("format", f"expected {FORMAT!r}, got {document.get('format')!r}"
                   if "format" in document else "required")
    if "version" not in document:
        raise fail("version", "required")
    if document["version"] != VERSION or isinstance(document["version"], bool):
        raise fail("version", f"unsupported version {document['version']!r} "
                   f"(this reader reads version {VERSION})")
    for name in REQUIRED:
        if name not in document:
            raise fail(name, "required")
    for name in ("scenario", "scenario_sha256", "source_policy", "default"):
        if not isinstance(document[name], str):
            raise fail(name, f"expected a string, got {_json_type(document[name])}")
    feature_names, edges = _check_features(document["features"], fail)
    actions = _check_actions(document["actions"], fail)
    default = document["default"]
    if default not in HEURISTICS:
        raise fail("default", f"unknown heuristic {default!r} (known: {', '.join(HEURISTICS)})")
    rows = _check_rows(document["rows"], edges, len(actions), fail)
    if "fidelity" in document and not isinstance(document["fidelity"], dict):
        raise fail("fidelity", f"expected an object, got {_json_type(document['fidelity'])}")
    return LookupTable(source, document, feature_names, edges, actions, default, rows)


def _check_features(features: object, fail: Callable[[str, str], PolicyError]
                    ) -> tuple[tuple[str, ...], tuple[tuple[float, ...], ...]]:
    if not isinstance(features, list):
        raise fail("features", f"expected a list, got {_json_type(features)}")
    names: list[str] = []
    all_edges: list[tuple[float, ...]] = []
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict):
            raise fail(where, f"expected an object with name and edges, got {_json_type(feature)}")
        for name in ("name", "edges"):
            if name not in feature:
                raise fail(f"{where}.{name}", "required")
        name = feature["name"]
        if not isinstance(name, str) or name.partition(".")[0] not in FEATURE_KINDS:
            raise fail(f"{where}.name", f"unknown feature {name!r} "
                       f"(known kinds: {', '.join(FEATURE_KINDS)})")
        if name in names:
            raise fail(f"{where}.name", f"duplicate feature {name!r}")
        edges = feature["edges"]
        if not isinstance(edges, list) or not edges:
            raise fail(f"{where}.edges", "expected a non-empty list of numbers")
        if not all(_is_number(e) and math.isfinite(e) for e in edges):
            raise fail(f"{where}.edges", "every edge must be a finite number")
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise fail(f"{where}.edges", f"must be strictly increasing, got {edges}")
        names.append(name)
        all_edges.append(tuple(edges))
    return tuple(names), tuple(all_edges)


def _check_actions(actions: object, fail: Callable[[str, str], PolicyError]) -> tuple[str, ...]:
    if not isinstance(actions, list) or not actions:
        raise fail("actions", "expected a non-empty list of 'type->group' or 'hold'")
    seen: set[str] = set()
    for i, action in enumerate(actions):
        if not isinstance(action, str) or (action != HOLD and action.count(PAIR_SEPARATOR) != 1):
            raise fail(f"actions[{i}]", f"expected 'type->group' or 'hold', got {action!r}")
        if action in seen:
            raise fail(f"actions[{i}]", f"duplicate action {action!r}")
        seen.add(action)
    return tuple(actions)


def _check_rows(rows: object, edges: tuple[tuple[float, ...], ...], n_actions: int,
                fail: Callable[[str, str], PolicyError]) -> dict[tuple[int, ...], int]:
    if not isinstance(rows, list):
        raise fail("rows", f"expected a list, got {_json_type(rows)}")
    sizes = [len(e) for e in edges]
    table: dict[tuple[int, ...], int] = {}
    for i, row in enumerate(rows):
        where = f"rows[{i}]"
        if not isinstance(row, dict) or "key" not in row or "action" not in row:
            raise fail(where, "expected an object with key and action")
        key, action = row["key"], row["action"]
        if not isinstance(key, list) or not all(_is_int(k) for k in key):
            raise fail(f"{where}.key", "expected a list of bin indices (integers)")
        if len(key) != len(sizes):
            raise fail(f"{where}.key", f"has {len(key)} bin indices, expected {len(sizes)} "
                       "(one per feature)")
        for j, (k, size) in enumerate(zip(key, sizes, strict=True)):
            if not 0 <= k < size:
                raise fail(f"{where}.key[{j}]", f"bin {k} out of range 0..{size - 1}")
        if not _is_int(action) or not 0 <= action < n_actions:
            raise fail(f"{where}.action", f"{action!r} out of range 0..{n_actions - 1} "
                       "(an index into actions)")
        if tuple(key) in table:
            raise fail(f"{where}.key", f"duplicate key {key}")
        table[tuple(key)] = action
    return table


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


# -- the policy ----------------------------------------------------------------------


@dataclass
class LookupCounts:
    """What a table policy saw: decisions, keys found, stored actions used."""

    lookups: int = 0
    found: int = 0
    used: int = 0


class TablePolicy:
    """Routes by the stored action of the state's key; the `default` heuristic otherwise.

    A stored pair that is not feasible in the current state also falls back.
    The policy never holds unless some row stores `hold`, so it is non-idling
    exactly when no row does (and the model may then skip one-pair decisions).
    """

    def __init__(self, table: LookupTable, scenario: Scenario, name: str | None = None) -> None:
        self.table = table
        self.name = name or f"table:{Path(table.source).name}"
        getters, edges = self._bind_features(table, scenario)
        self._features = list(zip(getters, edges, strict=True))
        codes = self._bind_actions(table, scenario)
        self._rows = {key: codes[action] for key, action in table.rows.items()}
        self._hold = len(scenario.type_names) * len(scenario.group_names)
        self.non_idling = self._hold not in self._rows.values()
        self.fallback: Heuristic = HEURISTICS[table.default]()
        self.counts = LookupCounts()

    @staticmethod
    def _bind_features(table: LookupTable, scenario: Scenario
                       ) -> tuple[list[Getter], list[tuple[float, ...]]]:
        getters = []
        for i, name in enumerate(table.feature_names):
            try:
                getters.append(feature_getter(name, scenario))
            except ValueError as error:
                raise PolicyError(f"{table.source}: features[{i}].name: {error}") from None
        return getters, list(table.edges)

    @staticmethod
    def _bind_actions(table: LookupTable, scenario: Scenario) -> list[int]:
        types, groups = scenario.type_names, scenario.group_names
        codes = []
        for i, action in enumerate(table.actions):
            if action == HOLD:
                codes.append(len(types) * len(groups))
                continue
            ticket_type, _, group = action.partition(PAIR_SEPARATOR)
            if ticket_type not in types or group not in groups:
                raise PolicyError(f"{table.source}: actions[{i}]: {action!r} names a ticket type "
                                  f"or agent group not in scenario {scenario.name}")
            codes.append(types.index(ticket_type) * len(groups) + groups.index(group))
        return codes

    def reset(self, view: DecisionView, rng: np.random.Generator) -> None:
        self.fallback.reset(view, rng)

    def key(self, view: DecisionView) -> tuple[int, ...]:
        """The bin index of each feature (`bin_index`, inlined: this is the hot path)."""
        key = []
        for get, edges in self._features:
            i = bisect_right(edges, get(view))
            key.append(i - 1 if i else 0)
        return tuple(key)

    def stored_action(self, view: DecisionView) -> int | None:
        """The model action stored for the state's key, or None if the key is missing."""
        return self._rows.get(self.key(view))

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        counts = self.counts
        counts.lookups += 1
        action = self._rows.get(self.key(view))
        if action is not None:
            counts.found += 1
            if action == self._hold or action in pairs:
                counts.used += 1
                return action
        return self.fallback.decide(view, pairs)


def load_table_policy(path: str | Path, scenario: Scenario, force: bool = False) -> TablePolicy:
    """The `table:PATH` policy for a scenario; the file must be built for that scenario."""
    table = read_table(path)
    return bind_table(table, scenario, force=force)


def bind_table(table: LookupTable, scenario: Scenario, *, force: bool = False,
               name: str | None = None) -> TablePolicy:
    """A checked table as a policy; a scenario hash mismatch is an error unless `force`."""
    if table.scenario_sha256 != scenario.sha256() and not force:
        raise PolicyError(
            f"{table.source}: scenario_sha256: built for scenario {table.document['scenario']!r} "
            f"({table.scenario_sha256[:12]}...), not for this version of {scenario.name!r} "
            f"({scenario.sha256()[:12]}...); pass --force to use it anyway")
    return TablePolicy(table, scenario, name=name)


# -- a state given as plain values (test vectors, benchmarks) ---------------------------


@dataclass
class StateView:
    """A `DecisionView` of a state written down as plain values, as in the test vectors.

    `state` maps `now_min` to minutes since midnight of day one and `queue_len`,
    `head_wait_min`, `idle_agents`, `longest_idle_min` to per-name values
    (missing names are 0).
    """

    scenario: Scenario
    state: Mapping[str, Any]
    now: float = field(init=False)

    def __post_init__(self) -> None:
        types, groups = self.scenario.type_names, self.scenario.group_names
        self.n_types, self.n_groups = len(types), len(groups)
        self.hold = self.n_types * self.n_groups
        self.pair_type = [p // self.n_groups for p in range(self.hold)]
        self.pair_group = [p % self.n_groups for p in range(self.hold)]
        specs = [self.scenario.ticket_types[t] for t in types]
        skills = [self.scenario.agent_groups[g].skills for g in groups]
        self.service_rate = [[s.get(t, 0.0) / spec.handle_minutes.mean
                              for t, spec in zip(types, specs, strict=True)] for s in skills]
        self.wait_cost = [s.wait_cost_per_minute for s in specs]
        self.abandon_cost = [s.abandon_cost for s in specs]
        self.abandon_rate = [1 / s.patience_minutes.mean if s.patience_minutes else 0.0
                             for s in specs]
        self.sla_minutes = [s.sla_minutes if s.sla_minutes is not None else math.inf
                            for s in specs]
        state = self.state
        self.now = float(state.get("now_min", 0.0))
        self.queue_length = [int(state.get("queue_len", {}).get(t, 0)) for t in types]
        self._head_wait = [float(state.get("head_wait_min", {}).get(t, 0.0)) for t in types]
        self._idle = [int(state.get("idle_agents", {}).get(g, 0)) for g in groups]
        self._longest_idle = [float(state.get("longest_idle_min", {}).get(g, 0.0)) for g in groups]
        self.busy = [[0] * self.n_types for _ in groups]

    def feasible_pairs(self) -> list[int]:
        """Pairs with a waiting ticket, an idle agent and the skill, in index order."""
        return [p for p in range(self.hold)
                if self.queue_length[self.pair_type[p]] and self._idle[self.pair_group[p]]
                and self.service_rate[self.pair_group[p]][self.pair_type[p]] > 0]

    def idle_agents(self, group: int) -> int:
        return self._idle[group]

    def head_wait(self, ticket_type: int) -> float:
        return self._head_wait[ticket_type] if self.queue_length[ticket_type] else 0.0

    def longest_idle_minutes(self, group: int) -> float:
        return self._longest_idle[group] if self._idle[group] else 0.0

    def arrival_rate(self, ticket_type: int) -> float:
        return 0.0
