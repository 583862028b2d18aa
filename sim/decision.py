"""The one decision interface shared by heuristics, learned policies and tables.

A decision picks one feasible (ticket type, agent group) pair, encoded as the
integer `type_index * n_groups + group_index`, or `HOLD` = `n_types * n_groups`.
Policies read the state through `DecisionView` alone (the running model
satisfies it, and so do the hand-built views of the exact solver and the
tests); reading it never changes state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


class DecisionView(Protocol):
    """All a policy may read when it decides; reading never changes state.

    Times are in minutes; `busy[g][t]` counts agents of group g serving type t;
    `on_shift[g]` is the planned head count of g now; `can_hold` is False when
    no event is pending, so that HOLD would end the day with work undone.
    """

    now: float
    horizon: float
    n_types: int
    n_groups: int
    hold: int
    pair_type: list[int]
    pair_group: list[int]
    queue_length: list[int]
    busy: list[list[int]]
    on_shift: list[int]
    wait_cost: list[float]
    abandon_cost: list[float]
    abandon_rate: list[float]
    service_rate: list[list[float]]
    sla_minutes: list[float]

    @property
    def can_hold(self) -> bool: ...

    def idle_agents(self, group: int) -> int: ...

    def head_wait(self, ticket_type: int) -> float: ...

    def longest_idle_minutes(self, group: int) -> float: ...

    def arrival_rate(self, ticket_type: int) -> float: ...


@runtime_checkable
class Policy(Protocol):
    """A routing policy. `non_idling` policies never return HOLD when work is feasible."""

    name: str
    non_idling: bool

    def reset(self, view: DecisionView, rng: np.random.Generator) -> None: ...

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int: ...
