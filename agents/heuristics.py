"""The routing rules contact centres use, each a small class that scores a pair.

Every heuristic is non-idling: it never holds while a feasible pair exists.
The highest score wins; ties go to the oldest head-of-line ticket, then to the
group whose agent has been idle longest, then to the lowest pair index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from sim.decision import DecisionView


class Heuristic:
    """Base class: subclasses override `score` (higher is served first)."""

    name: ClassVar[str]
    summary: ClassVar[str]
    non_idling: ClassVar[bool] = True

    def reset(self, view: DecisionView, rng: np.random.Generator) -> None:
        self.rng = rng

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        pair_type, pair_group = view.pair_type, view.pair_group

        def key(pair: int) -> tuple[float, float, float, int]:
            t, g = pair_type[pair], pair_group[pair]
            return (self.score(view, t, g), view.head_wait(t), view.longest_idle_minutes(g), -pair)

        return max(pairs, key=key)

    def score(self, view: DecisionView, t: int, g: int) -> float:
        raise NotImplementedError


class Fifo(Heuristic):
    name = "fifo"
    summary = "oldest waiting ticket first, over the types the agent can serve"

    def score(self, view: DecisionView, t: int, g: int) -> float:
        return view.head_wait(t)


class StaticPriority(Heuristic):
    name = "priority"
    summary = "fixed order by wait cost per minute, then oldest first"

    def score(self, view: DecisionView, t: int, g: int) -> float:
        return view.wait_cost[t]


class CMu(Heuristic):
    name = "cmu"
    summary = "largest wait cost x service rate of the pair (the c-mu rule)"

    def score(self, view: DecisionView, t: int, g: int) -> float:
        return view.wait_cost[t] * view.service_rate[g][t]


class GeneralisedCMu(Heuristic):
    """Van Mieghem's generalised c-mu for a convex (quadratic) waiting cost.

    With cost c*w^2/2 per ticket the marginal cost at wait w is c*w, so the
    index is c * w_head * mu: long waits gain urgency, unlike plain c-mu.
    """

    name = "gcmu"
    summary = "cost slope at the head-of-line wait x service rate (generalised c-mu)"

    def score(self, view: DecisionView, t: int, g: int) -> float:
        return view.wait_cost[t] * view.head_wait(t) * view.service_rate[g][t]


class LongestQueue(Heuristic):
    name = "lqf"
    summary = "longest queue first"

    def score(self, view: DecisionView, t: int, g: int) -> float:
        return view.queue_length[t]


class SlaSlack(Heuristic):
    name = "sla"
    summary = "least slack to the SLA deadline first; types without an SLA last"

    def score(self, view: DecisionView, t: int, g: int) -> float:
        return view.head_wait(t) - view.sla_minutes[t]


class CMuTheta(Heuristic):
    """The c-mu/theta rule of Atar, Giat and Shimkin (2010) for overloaded queues.

    A waiting ticket costs c per minute and abandons at rate theta at cost a,
    so its holding cost rate is h = c + a*theta; the index is h * mu / theta.
    Types that never abandon (theta = 0) come first: their queue only drains.
    """

    name = "cmu_theta"
    summary = "(wait cost + abandon cost x theta) x service rate / abandonment rate"

    def score(self, view: DecisionView, t: int, g: int) -> float:
        theta = view.abandon_rate[t]
        if theta == 0:
            return math.inf
        holding = view.wait_cost[t] + view.abandon_cost[t] * theta
        return holding * view.service_rate[g][t] / theta


class CMuHolding(Heuristic):
    """c-mu on the full holding cost of a waiting ticket.

    A waiting ticket costs c per minute and abandons at rate theta at cost a,
    so each minute in queue costs h = c + a*theta; the index is h * mu. With
    no abandonment cost it is plain c-mu.
    """

    name = "cmu_holding"
    summary = "(wait cost + abandon cost x abandonment rate) x service rate"

    def score(self, view: DecisionView, t: int, g: int) -> float:
        holding = view.wait_cost[t] + view.abandon_cost[t] * view.abandon_rate[t]
        return holding * view.service_rate[g][t]


class MaxWeight(Heuristic):
    name = "maxweight"
    summary = "queue length x wait cost x service rate (MaxWeight)"

    def score(self, view: DecisionView, t: int, g: int) -> float:
        return view.queue_length[t] * view.wait_cost[t] * view.service_rate[g][t]


class RandomPair(Heuristic):
    name = "random"
    summary = "a feasible pair uniformly at random"

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        return pairs[int(self.rng.integers(len(pairs)))]


HEURISTICS: dict[str, type[Heuristic]] = {
    cls.name: cls
    for cls in (Fifo, StaticPriority, CMu, GeneralisedCMu, LongestQueue, SlaSlack, CMuTheta,
                CMuHolding, MaxWeight, RandomPair)
}
