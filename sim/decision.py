"""The one decision interface shared by heuristics, learned policies and tables.

A decision picks one feasible (ticket type, agent group) pair, encoded as the
integer `type_index * n_groups + group_index`, or `HOLD` = `n_types * n_groups`.
Policies read the state through `DecisionView` (the running model satisfies
it) and never change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


class DecisionView(Protocol):
    """What a policy may read when it decides."""

    now: float
    n_types: int
    n_groups: int
    hold: int
    pair_type: list[int]
    pair_group: list[int]
    queue_length: list[int]
    busy: list[list[int]]
    wait_cost: list[float]
    abandon_cost: list[float]
    abandon_rate: list[float]
    service_rate: list[list[float]]
    sla_minutes: list[float]

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
