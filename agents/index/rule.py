"""The index rule: weight[type] x service rate of the pair, with optional reservations.

The policy of `--policy index:FILE.json`, the teacher of the learner's warm
start, and a lookup table's default. Its file is plain JSON that a person and
a Go service can read:

    {"format": "routelab-index-rule", "version": 1, "kind": "index",
     "scenario": "fintech_day", "scenario_sha256": "...",
     "weights": {"card_issue": 1.0, ...},
     "reserve": {"card_issue->fraud_team": 2},
     "keep_free": {"card_issue->fraud_team": 1}}

A pair p = type->group starts only while more than `reserve[p]` tickets of
the type wait and more than `keep_free[p]` agents of the group are idle; a
pair not named has 0 (no reservation). If every feasible pair is held back,
the rule holds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.errors import PolicyError
from agents.heuristics import Heuristic
from agents.tables.facts import is_number
from sim.decision import DecisionView
from sim.scenario import Scenario

FORMAT = "routelab-index-rule"
VERSION = 1
PAIR_SEPARATOR = "->"


class IndexRule(Heuristic):
    """weight[type] x service rate of the pair; ties as every heuristic breaks them.

    `reserve` and `keep_free` are per pair index (t * n_groups + g), or None.
    """

    name = "index"
    summary = "per-type weight x service rate, weights tuned on training days"

    def __init__(self, weights: Sequence[float], reserve: Sequence[int] | None = None,
                 keep_free: Sequence[int] | None = None) -> None:
        self.weights = [float(w) for w in weights]
        self.reserve = [int(r) for r in reserve] if reserve is not None else None
        self.keep_free = [int(k) for k in keep_free] if keep_free is not None else None
        self.non_idling = not any(self.reserve or ()) and not any(self.keep_free or ())

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        if not self.non_idling:
            open_pairs = [p for p in pairs if self._open(view, p)]
            if not open_pairs and view.can_hold:
                return view.hold
            pairs = open_pairs or pairs
        return super().decide(view, pairs)

    def _open(self, view: DecisionView, pair: int) -> bool:
        if self.reserve and view.queue_length[view.pair_type[pair]] <= self.reserve[pair]:
            return False
        return not (self.keep_free and view.idle_agents(view.pair_group[pair]) <= self.keep_free[pair])

    def score(self, view: DecisionView, t: int, g: int) -> float:
        return self.weights[t] * view.service_rate[g][t]


def pair_labels(scenario: Scenario) -> list[str]:
    """`type->group` for every pair index (no HOLD)."""
    return [f"{t}{PAIR_SEPARATOR}{g}" for t in scenario.type_names for g in scenario.group_names]


def rule_document(scenario: Scenario, rule: IndexRule, **extra: Any) -> dict[str, Any]:
    """The JSON document of a rule: weights by type, reservations by `type->group`."""
    labels = pair_labels(scenario)
    return {
        "format": FORMAT, "version": VERSION, "kind": "index",
        "scenario": scenario.name, "scenario_sha256": scenario.sha256(),
        "weights": dict(zip(scenario.type_names, rule.weights, strict=True)),
        "reserve": {labels[p]: k for p, k in enumerate(rule.reserve or []) if k},
        "keep_free": {labels[p]: k for p, k in enumerate(rule.keep_free or []) if k},
        **extra,
    }


def rule_from_mapping(document: Mapping[str, Any], scenario: Scenario, source: str) -> IndexRule:
    """The rule of a document's `weights`, `reserve` and `keep_free` for a scenario."""

    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: {where}: {message}")

    weights = document.get("weights")
    if not isinstance(weights, Mapping):
        raise fail("weights", "required: an object of ticket type -> weight")
    unknown = sorted(set(weights) - set(scenario.type_names))
    if unknown:
        raise fail(f"weights.{unknown[0]}", f"not a ticket type of scenario {scenario.name}")
    values = []
    for name in scenario.type_names:
        value = weights.get(name)
        if not is_number(value) or not math.isfinite(value) or value < 0:
            raise fail(f"weights.{name}", "required: a finite number >= 0")
        values.append(float(value))
    labels = pair_labels(scenario)
    reservations = []
    for kind in ("reserve", "keep_free"):
        given = document.get(kind) or {}
        if not isinstance(given, Mapping):
            raise fail(kind, "expected an object of type->group -> whole number")
        per_pair = [0] * len(labels)
        for label, count in given.items():
            if label not in labels:
                raise fail(f"{kind}.{label}", f"not a pair of scenario {scenario.name}")
            if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 10**6:
                raise fail(f"{kind}.{label}", "expected a whole number from 0 to 1000000")
            per_pair[labels.index(label)] = count
        reservations.append(per_pair if any(per_pair) else None)
    return IndexRule(values, *reservations)


def load_index_rule(path: str | Path, scenario: Scenario, *, force: bool = False) -> IndexRule:
    """The `index:PATH` policy; the file must have been tuned for this scenario."""
    source = str(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(f"{source}: cannot read ({error.strerror or error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PolicyError(f"{source}: not valid JSON ({error})") from None
    except (RecursionError, ValueError):  # nested too deep, or a number too long to convert
        raise PolicyError(f"{source}: not an index rule (nested too deep, or a number "
                          "too long to read)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PolicyError(f"{source}: format: expected {FORMAT!r}")
    if document.get("version") != VERSION:
        raise PolicyError(f"{source}: version: expected {VERSION}, got {document.get('version')!r}")
    if document.get("scenario_sha256") != scenario.sha256() and not force:
        raise PolicyError(f"{source}: scenario_sha256: tuned for scenario "
                          f"{document.get('scenario')!r}, not for this version of "
                          f"{scenario.name!r}; pass --force to use it anyway")
    return rule_from_mapping(document, scenario, source)

