"""Table documents of version 1 and 2: check them, turn them into policies, upgrade 1 to 2.

Version 2 (docs/lookup-table.md) adds `scenario_facts` and lets `default` be a
heuristic name or an index rule. Features, actions and rows are checked as in
version 1, by agents/tables/read.py; this module adds what version 2 changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.errors import PolicyError
from agents.specs import policy_label
from agents.tables.facts import scenario_facts
from agents.tables.keys import PAIR_SEPARATOR
from agents.tables.policy import TablePolicy, bind_table
from agents.tables.read import INDEX_KIND, LATEST, TableDocument, parse_document, read_document
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]


# -- a checked document as a policy -----------------------------------------------------------


def bind_document(document: TableDocument, scenario: Scenario, *, force: bool = False,
                  name: str | None = None) -> TablePolicy:
    """The policy of a table of either version for a scenario (the hash must match unless
    `force`; so must the embedded facts, which a hand-edited file could have changed)."""
    table = document.table
    if document.facts is not None and not force and table.scenario_sha256 == scenario.sha256():
        expected = scenario_facts(scenario)
        if table.document["scenario_facts"] != expected:
            raise PolicyError(f"{table.source}: scenario_facts: differ from scenario "
                              f"{scenario.name!r} although the hash matches; export the table again")
    fallback = (None if document.index is None
                else document.index.policy(scenario.type_names, scenario.group_names))
    return bind_table(table, scenario, force=force, name=name, fallback=fallback)


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
        if name == "default":  # the contract's first eight fields keep their places
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
    (lists in pair-index order, as `IndexRule` takes them); zero reservations are left out."""
    types, groups = scenario.type_names, scenario.group_names
    pairs = [f"{t}{PAIR_SEPARATOR}{g}" for t in types for g in groups]
    rule: dict[str, Any] = {"kind": INDEX_KIND,
                            "weights": {t: float(w) for t, w in zip(types, weights, strict=True)}}
    for name, values in (("reserve", reserve), ("keep_free", keep_free)):
        chosen = {p: int(k) for p, k in zip(pairs, values or [], strict=False) if k}
        if chosen:
            rule[name] = chosen
    return rule
