"""Table documents of version 1 and 2: check them, turn them into policies, upgrade 1 to 2.

Version 2 (docs/lookup-table.md) adds `scenario_facts` and lets `default` be a
heuristic name or an index rule. Features, actions and rows are checked as in
version 1, by agents/table.py; this module adds what version 2 changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agents.heuristics import HEURISTICS
from agents.registry import PolicyError, policy_label
from agents.table import (
    FEATURE_KINDS,
    FORMAT,
    HOLD,
    PAIR_SEPARATOR,
    REQUIRED,
    LookupTable,
    TablePolicy,
    _check_actions,
    _check_features,
    _check_rows,
)
from agents.tables.facts import Facts, check_facts, is_number, json_type, scenario_facts
from sim.decision import Policy
from sim.scenario import Scenario

VERSIONS = (1, 2)
LATEST = 2
INDEX_KIND = "index"
INDEX_FIELDS = ("kind", "weights", "reserve", "keep_free")
# A default must decide the same way in any reader, so it is never the random rule.
DEFAULT_HEURISTICS = tuple(name for name in HEURISTICS if name != "random")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class IndexRule:
    """The index default: weight[type] x service rate; reservations per pair name (0 if absent)."""

    weights: dict[str, float]
    reserve: dict[str, int]
    keep_free: dict[str, int]

    def policy(self, type_names: Sequence[str], group_names: Sequence[str]) -> Policy:
        from agents.sb3_teacher import WeightedIndex  # imported only when a table needs it

        pairs = [f"{t}{PAIR_SEPARATOR}{g}" for t in type_names for g in group_names]
        reserve = [self.reserve.get(p, 0) for p in pairs]
        keep_free = [self.keep_free.get(p, 0) for p in pairs]
        return WeightedIndex([self.weights[t] for t in type_names],
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
    index: IndexRule | None

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
    return parse_document(document, source)


def parse_document(document: object, source: str = "<table>") -> TableDocument:
    """Check a parsed table document of version 1 or 2, field by field, in the spec's order."""

    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: {where}: {message}")

    if not isinstance(document, dict):
        raise PolicyError(f"{source}: expected a JSON object at the top level")
    if document.get("format") != FORMAT:
        raise fail("format", f"expected {FORMAT!r}, got {document.get('format')!r}"
                   if "format" in document else "required")
    version = document.get("version")
    if "version" not in document:
        raise fail("version", "required")
    if not isinstance(version, int) or isinstance(version, bool) or version not in VERSIONS:
        raise fail("version", f"unsupported version {version!r} (this reader reads versions "
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
            raise fail("default", f"unknown heuristic {default!r} (known: {', '.join(known)})")
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
    return IndexRule({t: float(weights[t]) for t in facts.type_names}, reserve, keep_free)


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


# -- a checked document as a policy -----------------------------------------------------------


def bind_document(document: TableDocument, scenario: Scenario, *, force: bool = False,
                  name: str | None = None) -> TablePolicy:
    """The policy of a table of either version for a scenario (the hash must match unless
    `force`; so must the embedded facts, which a hand-edited file could have changed)."""
    table = document.table
    if table.scenario_sha256 != scenario.sha256() and not force:
        raise PolicyError(
            f"{table.source}: scenario_sha256: built for scenario {table.document['scenario']!r} "
            f"({table.scenario_sha256[:12]}...), not for this version of {scenario.name!r} "
            f"({scenario.sha256()[:12]}...); pass --force to use it anyway")
    if document.facts is not None and not force:
        expected = scenario_facts(scenario)
        if table.document["scenario_facts"] != expected:
            raise PolicyError(f"{table.source}: scenario_facts: differ from scenario "
                              f"{scenario.name!r} although the hash matches; export the table again")
    if document.index is None:
        return TablePolicy(table, scenario, name=name)
    policy = TablePolicy(replace(table, default=DEFAULT_HEURISTICS[0]), scenario, name=name)
    policy.table = table
    policy.fallback = document.index.policy(scenario.type_names, scenario.group_names)
    policy.non_idling = policy.non_idling and policy.fallback.non_idling
    return policy


def load_table_policy(path: str | Path, scenario: Scenario, force: bool = False) -> TablePolicy:
    """The `table:PATH` policy for a file of either version."""
    return bind_document(read_document(path), scenario, force=force)


# -- writing version 2 ---------------------------------------------------------------------------


def upgrade_document(document: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """A version 1 document as version 2: facts embedded, a source_policy naming no file
    outside the repository; rows and every other field kept. Version 2 comes back as it is."""
    checked = parse_document(document, f"<table for {scenario.name}>")
    if document["scenario_sha256"] != scenario.sha256():
        raise PolicyError(f"<table for {scenario.name}>: scenario_sha256: the table was built for "
                          "another version of the scenario; its facts cannot be filled in")
    if checked.version == LATEST:
        return dict(document)
    upgraded: dict[str, Any] = {}
    for name, value in document.items():
        if name == "rows":
            continue
        upgraded[name] = value
        if name == "source_policy":
            upgraded[name] = repository_spec(value)
            upgraded["scenario_facts"] = scenario_facts(scenario)
    upgraded["version"] = LATEST
    upgraded["rows"] = document["rows"]
    return upgraded


def repository_spec(spec: str) -> str:
    """A policy spec that names no file outside the repository.

    `kind:PATH` keeps PATH (relative to the repository root) when the file lies
    in the repository outside the git-ignored run outputs (`runs/`); otherwise
    the spec becomes its label, `kind-name` (`model-demo`).
    """
    kind, _, path = spec.partition(":")
    if not path:
        return spec
    resolved = (ROOT / path).resolve()
    try:
        inside = resolved.relative_to(ROOT)
    except ValueError:
        return policy_label(spec)
    if "runs" in inside.parts:
        return policy_label(spec)
    return f"{kind}:{inside.as_posix()}"


def index_default(weights: Sequence[float], scenario: Scenario,
                  reserve: Sequence[int] | None = None,
                  keep_free: Sequence[int] | None = None) -> dict[str, Any]:
    """An index rule's `default` object from per-type weights and per-pair reservations
    (lists in pair-index order, as `WeightedIndex` takes them); zero reservations are left out."""
    types, groups = scenario.type_names, scenario.group_names
    pairs = [f"{t}{PAIR_SEPARATOR}{g}" for t in types for g in groups]
    rule: dict[str, Any] = {"kind": INDEX_KIND,
                            "weights": {t: float(w) for t, w in zip(types, weights, strict=True)}}
    for name, values in (("reserve", reserve), ("keep_free", keep_free)):
        chosen = {p: int(k) for p, k in zip(pairs, values or [], strict=False) if k}
        if chosen:
            rule[name] = chosen
    return rule
