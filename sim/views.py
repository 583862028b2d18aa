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

    Computed as the model computes them, so scores are the very floats the
    simulator compares.
    """

    def __init__(self, scenario: Scenario) -> None:
        types, groups = scenario.type_names, scenario.group_names
        specs = [scenario.ticket_types[t] for t in types]
        self.n_types, self.n_groups = len(types), len(groups)
        self.hold = self.n_types * self.n_groups
        self.pair_type = [p // self.n_groups for p in range(self.hold)]
        self.pair_group = [p % self.n_groups for p in range(self.hold)]
        self.speed = [[scenario.agent_groups[g].skills.get(t, 0.0) for t in types] for g in groups]
        self.service_rate = [[s / spec.handle_minutes.mean for s, spec in zip(row, specs, strict=True)]
                             for row in self.speed]
        self.wait_cost = [s.wait_cost_per_minute for s in specs]
        self.abandon_cost = [s.abandon_cost for s in specs]
        self.abandon_rate = [1 / s.patience_minutes.mean if s.patience_minutes else 0.0
                             for s in specs]
        self.sla_minutes = [s.sla_minutes if s.sla_minutes is not None else math.inf for s in specs]
        self.horizon = scenario.horizon_minutes


class StateView(ScenarioConstants):
    """A `DecisionView` of one state given as lists indexed like the model's.

    `idle[g]` idle agents; `head_wait[t]` and `longest_idle[g]` in minutes, or
    None when the state does not hold them (reading them then raises
    `MissingFromState`); `busy[g][t]` agents of g serving t.
    """

    def __init__(self, scenario: Scenario, *, now: float = 0.0,
                 queue_length: Sequence[int] | None = None, idle: Sequence[int] | None = None,
                 busy: Sequence[Sequence[int]] | None = None,
                 head_wait: Sequence[float] | None = None,
                 longest_idle: Sequence[float] | None = None,
                 on_shift: Sequence[int] | None = None,
                 arrival_rate: Sequence[float] | None = None, can_hold: bool = True) -> None:
        super().__init__(scenario)
        self.now = float(now)
        self.queue_length = list(queue_length or [0] * self.n_types)
        self.busy = [list(row) for row in busy] if busy else [[0] * self.n_types
                                                               for _ in range(self.n_groups)]
        self.idle = list(idle or [0] * self.n_groups)
        self._head_wait = None if head_wait is None else list(head_wait)
        self._longest_idle = None if longest_idle is None else list(longest_idle)
        self.on_shift = list(on_shift) if on_shift is not None else [
            i + sum(b) for i, b in zip(self.idle, self.busy, strict=True)]
        self._arrival_rate = list(arrival_rate or [0.0] * self.n_types)
        self._can_hold = can_hold

    @classmethod
    def from_mapping(cls, scenario: Scenario, state: Mapping[str, Any]) -> StateView:
        """The test vectors' form: `now_min`, and `queue_len`, `head_wait_min`,
        `idle_agents`, `longest_idle_min` mapping names to values (missing names are 0)."""
        types, groups = scenario.type_names, scenario.group_names

        def values(key: str, names: list[str], kind: type) -> list:
            given = state.get(key, {})
            return [kind(given.get(name, 0)) for name in names]

        return cls(scenario, now=float(state.get("now_min", 0.0)),
                   queue_length=values("queue_len", types, int),
                   head_wait=values("head_wait_min", types, float),
                   idle=values("idle_agents", groups, int),
                   longest_idle=values("longest_idle_min", groups, float))

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
        return self._arrival_rate[ticket_type]
