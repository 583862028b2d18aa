"""Reading a `routelab-lookup-table` JSON file and checking it field by field.

The schema is in docs/lookup-table.md. Every problem with a file is a
`PolicyError` naming file and field. Reading needs the standard library only.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.errors import PolicyError
from agents.heuristics import HEURISTICS
from agents.tables.keys import FEATURE_KINDS, HOLD, PAIR_SEPARATOR

FORMAT = "routelab-lookup-table"
VERSION = 1
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
    except RecursionError:
        raise PolicyError(f"{source}: not a lookup table (arrays or objects nested too deep "
                          "to read)") from None
    except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        raise PolicyError(f"{source}: not a lookup table (a number of more than "
                          f"{sys.get_int_max_str_digits()} digits)") from None
    return parse_table(document, source)


def parse_table(document: object, source: str = "<table>") -> LookupTable:
    """Check an already-parsed table document field by field."""

    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: {where}: {message}")

    if not isinstance(document, dict):
        raise PolicyError(f"{source}: expected a JSON object at the top level")
    if document.get("format") != FORMAT:
        raise fail("format", f"expected {FORMAT!r}, got {_short(document.get('format'))}"
                   if "format" in document else "required")
    if "version" not in document:
        raise fail("version", "required")
    if document["version"] != VERSION or isinstance(document["version"], bool):
        raise fail("version", f"unsupported version {_short(document['version'])} "
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
        raise fail("default", f"unknown heuristic {_short(default)} "
                   f"(known: {', '.join(HEURISTICS)})")
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


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: object) -> bool:
    """A number a float can hold (an integer of hundreds of digits cannot)."""
    if not _is_number(value):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _json_type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _short(value: object, limit: int = 60) -> str:
    """A value as it may appear in a one-line message: its repr, cut short if long."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        return f"a number of more than {limit} digits"
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
