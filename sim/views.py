"""Decision views that are not a running model: a state written down as plain values.

The exact solver judges heuristics on its MDP states, the lookup-table test
vectors and the latency benchmark replay recorded states; all of them hand a
policy a `StateView`, which reads like the running model (`sim.decision.DecisionView`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sim.scenario import Scenario


class MissingFromState(LookupError):
    """A policy read something the state does not hold (a waiting time, say)."""


class ScenarioConstants:
    """What a view holds that never changes during a run: pairs, rates, costs, SLAs.

    From a scenario, computed as the model computes them, so scores are the very
    floats the simulator compares; or `from_values` (a lookup table's facts).
    """

    def __init__(self, scenario: Scenario) -> None:
        types, groups = scenario.type_names, scenario.group_names
        specs = [scenario.ticket_types[t] for t in types]
        speed = [[scenario.agent_groups[g].skills.get(t, 0.0) for t in types] for g in groups]
        self._set(types, groups,
                  [[s / spec.handle_minutes.mean for s, spec in zip(row, specs, strict=True)]
                   for row in speed],
                  [s.wait_cost_per_minute for s in specs], [s.abandon_cost for s in specs],
                  [1 / s.patience_minutes.mean if s.patience_minutes else 0.0 for s in specs],
                  [s.sla_minutes if s.sla_minutes is not None else math.inf for s in specs],
                  scenario.horizon_minutes)
        self.speed = speed

    @classmethod
    def from_values(cls, type_names: Sequence[str], group_names: Sequence[str],
                    service_rate: Sequence[Sequence[float]], wait_cost: Sequence[float],
                    abandon_cost: Sequence[float], abandon_rate: Sequence[float],
                    sla_minutes: Sequence[float], horizon: float = math.inf) -> ScenarioConstants:
        """Constants given as lists in scenario order (service_rate[g][t]; SLA +inf if none)."""
        constants = object.__new__(cls)
        constants._set(type_names, group_names, service_rate, wait_cost, abandon_cost,
                       abandon_rate, sla_minutes, horizon)
        return constants

    def _set(self, type_names: Sequence[str], group_names: Sequence[str],
             service_rate: Sequence[Sequence[float]], wait_cost: Sequence[float],
             abandon_cost: Sequence[float], abandon_rate: Sequence[float],
             sla_minutes: Sequence[float], horizon: float) -> None:
        self.type_names, self.group_names = list(type_names), list(group_names)
        self.n_types, self.n_groups = len(self.type_names), len(self.group_names)
        self.hold = self.n_types * self.n_groups
        self.pair_type = [p // self.n_groups for p in range(self.hold)]
        self.pair_group = [p % self.n_groups for p in range(self.hold)]
        self.service_rate = [list(row) for row in service_rate]
        self.wait_cost, self.abandon_cost = list(wait_cost), list(abandon_cost)
        self.abandon_rate, self.sla_minutes = list(abandon_rate), list(sla_minutes)
        self.horizon = horizon


class StateView(ScenarioConstants):
    """A `DecisionView` of one state given as lists indexed like the model's.

    `source` is a scenario or its `ScenarioConstants`. `idle[g]` idle agents;
    `head_wait[t]` and `longest_idle[g]` in minutes, and `arrival_rate[t]` per
    minute, or None when the state does not hold them (reading them then raises
    `MissingFromState`); `busy[g][t]` agents of g serving t.
    """

    def __init__(self, source: Scenario | ScenarioConstants, *, now: float = 0.0,
                 queue_length: Sequence[int] | None = None, idle: Sequence[int] | None = None,
                 busy: Sequence[Sequence[int]] | None = None,
                 head_wait: Sequence[float] | None = None,
                 longest_idle: Sequence[float] | None = None,
                 on_shift: Sequence[int] | None = None,
                 arrival_rate: Sequence[float] | None = None, can_hold: bool = True) -> None:
        constants = source if isinstance(source, ScenarioConstants) else ScenarioConstants(source)
        vars(self).update(vars(constants))
        self.now = float(now)
        self.queue_length = list(queue_length or [0] * self.n_types)
        self.busy = [list(row) for row in busy] if busy else [[0] * self.n_types
                                                               for _ in range(self.n_groups)]
        self.idle = list(idle or [0] * self.n_groups)
        self._head_wait = None if head_wait is None else list(head_wait)
        self._longest_idle = None if longest_idle is None else list(longest_idle)
        self.on_shift = list(on_shift) if on_shift is not None else [
            i + sum(b) for i, b in zip(self.idle, self.busy, strict=True)]
        self._arrival_rate = None if arrival_rate is None else list(arrival_rate)
        self._can_hold = can_hold

    @classmethod
    def from_mapping(cls, source: Scenario | ScenarioConstants,
                     state: Mapping[str, Any]) -> StateView:
        """The test vectors' form: `now_min`, `can_hold` (default true), and `queue_len`,
        `head_wait_min`, `idle_agents`, `longest_idle_min` mapping names to values
        (missing names are 0)."""
        names = source if isinstance(source, ScenarioConstants) else ScenarioConstants(source)

        def values(key: str, which: list[str], kind: type) -> list:
            given = state.get(key, {})
            return [kind(given.get(name, 0)) for name in which]

        return cls(names, now=float(state.get("now_min", 0.0)),
                   queue_length=values("queue_len", names.type_names, int),
                   head_wait=values("head_wait_min", names.type_names, float),
                   idle=values("idle_agents", names.group_names, int),
                   longest_idle=values("longest_idle_min", names.group_names, float),
                   can_hold=bool(state.get("can_hold", True)))

    @property
    def can_hold(self) -> bool:
        return self._can_hold

    def feasible_pairs(self) -> list[int]:
        """Pairs with a waiting ticket, an idle agent and the skill, in index order."""
        return [p for p in range(self.hold)
                if self.queue_length[self.pair_type[p]] and self.idle[self.pair_group[p]]
                and self.service_rate[self.pair_group[p]][self.pair_type[p]] > 0]

    def idle_agents(self, group: int) -> int:
        return self.idle[group]

    def head_wait(self, ticket_type: int) -> float:
        if self._head_wait is None:
            raise MissingFromState("head-of-line waits")
        return self._head_wait[ticket_type] if self.queue_length[ticket_type] else 0.0

    def longest_idle_minutes(self, group: int) -> float:
        if self._longest_idle is None:
            raise MissingFromState("idle times")
        return self._longest_idle[group] if self.idle[group] else 0.0

    def arrival_rate(self, ticket_type: int) -> float:
        if self._arrival_rate is None:
            raise MissingFromState("arrival rates")
        return self._arrival_rate[ticket_type]
