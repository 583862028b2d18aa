"""Lookup-table policies (`--policy table:PATH`): route by the stored action of the state's key.

Never imports torch; numpy comes in through the heuristics only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agents.errors import PolicyError
from agents.heuristics import HEURISTICS
from agents.tables.keys import HOLD, PAIR_SEPARATOR, Getter, feature_getter, state_key
from agents.tables.read import LookupTable
from sim.decision import DecisionView, Policy
from sim.scenario import Scenario


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

    def __init__(self, table: LookupTable, scenario: Scenario, name: str | None = None,
                 fallback: Policy | None = None) -> None:
        """`fallback` replaces the table's default heuristic (a version 2 index default)."""
        self.table = table
        self.name = name or f"table:{Path(table.source).name}"
        getters, edges = self._bind_features(table, scenario)
        self._features = list(zip(getters, edges, strict=True))
        codes = self._bind_actions(table, scenario)
        self._rows = {key: codes[action] for key, action in table.rows.items()}
        self._hold = len(scenario.type_names) * len(scenario.group_names)
        self.fallback: Policy = fallback if fallback is not None else HEURISTICS[table.default]()
        self.non_idling = self._hold not in self._rows.values() and self.fallback.non_idling
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
        return state_key(self._features, view)

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


def bind_table(table: LookupTable, scenario: Scenario, *, force: bool = False,
               name: str | None = None, fallback: Policy | None = None) -> TablePolicy:
    """A checked table as a policy; a scenario hash mismatch is an error unless `force`.
    `fallback` replaces the table's default heuristic (a version 2 index default)."""
    if table.scenario_sha256 != scenario.sha256() and not force:
        raise PolicyError(
            f"{table.source}: scenario_sha256: built for scenario {table.document['scenario']!r} "
            f"({table.scenario_sha256[:12]}...), not for this version of {scenario.name!r} "
            f"({scenario.sha256()[:12]}...); pass --force to use it anyway")
    return TablePolicy(table, scenario, name=name, fallback=fallback)
