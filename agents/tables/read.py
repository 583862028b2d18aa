"""Reading a `routelab-lookup-table` JSON file and checking it field by field.

The schema is in docs/lookup-table.md. Every problem with a file is a
`PolicyError` naming file and field. Reading needs the standard library only.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.errors import PolicyError
from agents.heuristics import HEURISTICS
from agents.index.rule import IndexRule
from agents.tables.facts import Facts, check_facts, is_number, json_type
from agents.tables.keys import FEATURE_KINDS, HOLD, PAIR_SEPARATOR
from sim.decision import Policy

FORMAT = "routelab-lookup-table"
VERSION = 2  # what the exporter writes; version 1 files still load
REQUIRED = ("format", "version", "scenario", "scenario_sha256", "source_policy", "features",
            "actions", "default", "rows")


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


def read_table(path: str | Path) -> LookupTable:
    """Read and check the structure of one table file of either version (not its scenario)."""
    return read_document(path).table


def parse_table(document: object, source: str = "<table>") -> LookupTable:
    """Check an already-parsed table document of either version, field by field."""
    return parse_document(document, source).table


def _check_features(features: object, fail: Callable[[str, str], PolicyError]
                    ) -> tuple[tuple[str, ...], tuple[tuple[float, ...], ...]]:
    if not isinstance(features, list):
        raise fail("features", f"expected a list, got {json_type(features)}")
    names: list[str] = []
    all_edges: list[tuple[float, ...]] = []
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict):
            raise fail(where, f"expected an object with name and edges, got {json_type(feature)}")
        for name in ("name", "edges"):
            if name not in feature:
                raise fail(f"{where}.{name}", "required")
        name = feature["name"]
        if not isinstance(name, str) or name.partition(".")[0] not in FEATURE_KINDS:
            raise fail(f"{where}.name", f"unknown feature {_short(name)} "
                       f"(known kinds: {', '.join(FEATURE_KINDS)})")
        if name in names:
            raise fail(f"{where}.name", f"duplicate feature {_short(name)}")
        edges = feature["edges"]
        if not isinstance(edges, list) or not edges:
            raise fail(f"{where}.edges", "expected a non-empty list of numbers")
        if not all(_is_finite(e) for e in edges):
            raise fail(f"{where}.edges", "every edge must be a finite number")
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise fail(f"{where}.edges", f"must be strictly increasing, got {_short(edges)}")
        names.append(name)
        all_edges.append(tuple(edges))
    return tuple(names), tuple(all_edges)


def _check_actions(actions: object, fail: Callable[[str, str], PolicyError]) -> tuple[str, ...]:
    if not isinstance(actions, list) or not actions:
        raise fail("actions", "expected a non-empty list of 'type->group' or 'hold'")
    seen: set[str] = set()
    for i, action in enumerate(actions):
        if not isinstance(action, str) or (action != HOLD and action.count(PAIR_SEPARATOR) != 1):
            raise fail(f"actions[{i}]", f"expected 'type->group' or 'hold', got {_short(action)}")
        if action in seen:
            raise fail(f"actions[{i}]", f"duplicate action {_short(action)}")
        seen.add(action)
    return tuple(actions)


def _check_rows(rows: object, edges: tuple[tuple[float, ...], ...], n_actions: int,
                fail: Callable[[str, str], PolicyError]) -> dict[tuple[int, ...], int]:
    if not isinstance(rows, list):
        raise fail("rows", f"expected a list, got {json_type(rows)}")
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
                raise fail(f"{where}.key[{j}]", f"bin {_short(k)} out of range 0..{size - 1}")
        if not _is_int(action) or not 0 <= action < n_actions:
            raise fail(f"{where}.action", f"{_short(action)} out of range 0..{n_actions - 1} "
                       "(an index into actions)")
        if tuple(key) in table:
            raise fail(f"{where}.key", f"duplicate key {_short(key)}")
        table[tuple(key)] = action
    return table


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)



def _is_finite(value: object) -> bool:
    """A number a float can hold (an integer of hundreds of digits cannot)."""
    if not is_number(value):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False



def _short(value: object, limit: int = 60) -> str:
    """A value as it may appear in a one-line message: its repr, cut short if long."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return f"a number of more than {limit} digits"
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- version 2: the facts and the default -------------------------------------------------


VERSIONS = (1, 2)
LATEST = 2
INDEX_KIND = "index"
INDEX_FIELDS = ("kind", "weights", "reserve", "keep_free")
# A default must decide the same way in any reader, so it is never the random rule.
DEFAULT_HEURISTICS = tuple(name for name in HEURISTICS if name != "random")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class IndexDefault:
    """The index default: weight[type] x service rate; reservations per pair name (0 if absent)."""

    weights: dict[str, float]
    reserve: dict[str, int]
    keep_free: dict[str, int]

    def policy(self, type_names: Sequence[str], group_names: Sequence[str]) -> Policy:
        pairs = [f"{t}{PAIR_SEPARATOR}{g}" for t in type_names for g in group_names]
        reserve = [self.reserve.get(p, 0) for p in pairs]
        keep_free = [self.keep_free.get(p, 0) for p in pairs]
        return IndexRule([self.weights[t] for t in type_names],
                         reserve if any(reserve) else None,
                         keep_free if any(keep_free) else None)


@dataclass(frozen=True)
class TableDocument:
    """A checked table file of either version.

    `table.default` is the heuristic name, or "index" when `index` holds the rule.
    `facts` is None for version 1, whose reader takes them from the scenario.
    """

    table: LookupTable
    version: int
    facts: Facts | None
    index: IndexDefault | None

    @property
    def source(self) -> str:
        return self.table.source


def read_document(path: str | Path) -> TableDocument:
    """Read and check one table file of version 1 or 2 (not yet against a scenario)."""
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
    except RecursionError:
        raise PolicyError(f"{source}: not a lookup table (arrays or objects nested too deep "
                          "to read)") from None
    except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        raise PolicyError(f"{source}: not a lookup table (a number of more than "
                          f"{sys.get_int_max_str_digits()} digits)") from None
    return parse_document(document, source)


def parse_document(document: object, source: str = "<table>") -> TableDocument:
    """Check a parsed table document of version 1 or 2, field by field, in the spec's order."""

    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: {where}: {message}")

    if not isinstance(document, dict):
        raise PolicyError(f"{source}: expected a JSON object at the top level")
    if document.get("format") != FORMAT:
        raise fail("format", f"expected {FORMAT!r}, got {_short(document.get('format'))}"
                   if "format" in document else "required")
    version = document.get("version")
    if "version" not in document:
        raise fail("version", "required")
    if not isinstance(version, int) or isinstance(version, bool) or version not in VERSIONS:
        raise fail("version", f"unsupported version {_short(version)} (this reader reads versions "
                   f"{', '.join(map(str, VERSIONS))})")
    required = REQUIRED + (("scenario_facts",) if version == 2 else ())
    for name in required:
        if name not in document:
            raise fail(name, "required")
    for name in ("scenario", "scenario_sha256", "source_policy"):
        if not isinstance(document[name], str):
            raise fail(name, f"expected a string, got {json_type(document[name])}")
    facts = check_facts(document["scenario_facts"], fail) if version == 2 else None
    feature_names, edges = _check_features(document["features"], fail)
    if facts is not None:
        _check_subjects(feature_names, facts, fail)
    actions = _check_actions(document["actions"], fail)
    if facts is not None:
        _check_action_names(actions, facts, fail)
    default, index = _check_default(document["default"], version, facts, fail)
    rows = _check_rows(document["rows"], edges, len(actions), fail)
    if "fidelity" in document and not isinstance(document["fidelity"], dict):
        raise fail("fidelity", f"expected an object, got {json_type(document['fidelity'])}")
    table = LookupTable(source, document, feature_names, edges, actions, default, rows)
    return TableDocument(table, version, facts, index)


def _check_subjects(names: Sequence[str], facts: Facts, fail: Any) -> None:
    for i, name in enumerate(names):
        kind, _, subject = name.partition(".")
        keyed_by = FEATURE_KINDS[kind]
        known = {"type": facts.type_names, "group": facts.group_names, None: ("",)}[keyed_by]
        if subject not in known:
            what = {"type": "ticket type", "group": "agent group"}.get(keyed_by)
            raise fail(f"features[{i}].name", f"unknown {what} {subject!r} in scenario_facts"
                       if what else f"feature {kind} takes no subject, got {name!r}")


def _check_action_names(actions: Sequence[str], facts: Facts, fail: Any) -> None:
    for i, action in enumerate(actions):
        if action != HOLD and _pair_index(action, facts) is None:
            raise fail(f"actions[{i}]", f"{action!r} names a ticket type or agent group not in "
                       "scenario_facts")


def _pair_index(name: str, facts: Facts) -> int | None:
    ticket_type, _, group = name.partition(PAIR_SEPARATOR)
    if ticket_type not in facts.type_names or group not in facts.group_names:
        return None
    return facts.type_names.index(ticket_type) * len(facts.group_names) + \
        facts.group_names.index(group)


def _check_default(default: object, version: int, facts: Facts | None, fail: Any
                   ) -> tuple[str, IndexRule | None]:
    if isinstance(default, str):
        known = HEURISTICS if version == 1 else DEFAULT_HEURISTICS
        if default not in known:
            raise fail("default", f"unknown heuristic {_short(default)} (known: {', '.join(known)})")
        return default, None
    if version == 1 or facts is None:
        raise fail("default", f"expected a heuristic name, got {json_type(default)}")
    if not isinstance(default, dict):
        raise fail("default", f"expected a heuristic name or an index rule object, got "
                   f"{json_type(default)}")
    return INDEX_KIND, check_index_rule(default, facts, fail)


def check_index_rule(rule: dict[str, Any], facts: Facts, fail: Any,
                     where: str = "default") -> IndexRule:
    """The `{"kind": "index", ...}` object: unknown fields are refused, since a misspelt
    reservation would silently change the decisions."""
    for name in rule:
        if name not in INDEX_FIELDS:
            raise fail(f"{where}.{name}", f"unknown field (an index rule has {', '.join(INDEX_FIELDS)})")
    if rule.get("kind") != INDEX_KIND:
        raise fail(f"{where}.kind", f"expected {INDEX_KIND!r}, got {json.dumps(rule.get('kind'))}"
                   if "kind" in rule else "required")
    if "weights" not in rule:
        raise fail(f"{where}.weights", "required")
    weights = rule["weights"]
    if not isinstance(weights, dict):
        raise fail(f"{where}.weights", f"expected an object: ticket type -> weight, got "
                   f"{json_type(weights)}")
    for name in weights:
        if name not in facts.type_names:
            raise fail(f"{where}.weights.{name}", "unknown ticket type")
    for name in facts.type_names:
        if name not in weights:
            raise fail(f"{where}.weights.{name}", "required (every ticket type has a weight)")
        value = weights[name]
        if not is_number(value) or not value >= 0 or value == float("inf"):
            raise fail(f"{where}.weights.{name}", f"expected a finite number >= 0, got "
                       f"{json.dumps(value)}")
    reserve = _check_reservations(rule.get("reserve", {}), facts, fail, f"{where}.reserve")
    keep_free = _check_reservations(rule.get("keep_free", {}), facts, fail, f"{where}.keep_free")
    return IndexDefault({t: float(weights[t]) for t in facts.type_names}, reserve, keep_free)


def _check_reservations(values: object, facts: Facts, fail: Any, where: str) -> dict[str, int]:
    if not isinstance(values, dict):
        raise fail(where, f"expected an object: 'type->group' -> integer, got {json_type(values)}")
    for name, value in values.items():
        pair = _pair_index(name, facts)
        if pair is None:
            raise fail(f"{where}.{name}", "expected a pair 'type->group' of scenario_facts")
        t, g = divmod(pair, len(facts.group_names))
        if facts.service_rate[g][t] <= 0:
            raise fail(f"{where}.{name}", f"group {facts.group_names[g]!r} cannot serve "
                       f"{facts.type_names[t]!r}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise fail(f"{where}.{name}", f"expected an integer >= 0, got {json.dumps(value)}")
    return dict(values)
