"""Exact queueing values the simulator is checked against: Erlang B, C and A.

Erlang B and C come from the recursion in CONVENTIONS.md. Erlang A (M/M/c+M)
is the birth-death chain of the number in system, solved numerically and cut
where the stationary mass left out is below 1e-15; the law of one arrival's
wait comes from a small absorbing chain (its place in the queue) started from
what it sees on arrival (PASTA). Times are in minutes, rates per minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm

TAIL_MASS = 1e-15


def erlang_b(servers: int, load_erlangs: float) -> float:
    """Blocking probability of M/M/c/c: B_k = a B_{k-1} / (k + a B_{k-1}), B_0 = 1."""
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load_erlangs * blocking / (k + load_erlangs * blocking)
    return blocking


def erlang_c(servers: int, load_erlangs: float) -> float:
    """Probability that an arrival waits in M/M/c: C = c B / (c - a (1 - B))."""
    if load_erlangs >= servers:
        return 1.0
    blocking = erlang_b(servers, load_erlangs)
    return servers * blocking / (servers - load_erlangs * (1 - blocking))


@dataclass(frozen=True)
class ErlangC:
    """M/M/c with arrival rate `arrival_rate`, service rate `service_rate` per agent."""

    servers: int
    arrival_rate: float
    service_rate: float

    def __post_init__(self) -> None:
        if self.arrival_rate >= self.servers * self.service_rate:
            raise ValueError(f"unstable: load {self.load:g} >= {self.servers} servers")

    @property
    def load(self) -> float:
        return self.arrival_rate / self.service_rate

    @property
    def p_wait(self) -> float:
        return erlang_c(self.servers, self.load)

    @property
    def drain_rate(self) -> float:
        """c mu - lambda: the rate of the exponential tail of the wait."""
        return self.servers * self.service_rate - self.arrival_rate

    @property
    def mean_wait(self) -> float:
        return self.p_wait / self.drain_rate

    def p_wait_exceeds(self, minutes: float) -> float:
        return self.p_wait * math.exp(-self.drain_rate * minutes)

    def service_level(self, minutes: float) -> float:
        """Share answered within `minutes`."""
        return 1.0 - self.p_wait_exceeds(minutes)


@dataclass(frozen=True)
class ErlangA:
    """M/M/c+M: exponential patience at rate `abandon_rate` (0 gives M/M/c)."""

    servers: int
    arrival_rate: float
    service_rate: float
    abandon_rate: float

    def __post_init__(self) -> None:
        if self.abandon_rate == 0 and self.arrival_rate >= self.servers * self.service_rate:
            raise ValueError("unstable: no abandonment and load >= servers")
        object.__setattr__(self, "_pi", self._stationary())

    def _death_rate(self, k: int) -> float:
        queued = max(k - self.servers, 0)
        return min(k, self.servers) * self.service_rate + queued * self.abandon_rate

    def _stationary(self) -> np.ndarray:
        # Unnormalised pi_k = prod_{j<=k} lambda / death(j). Past the mode the
        # ratio r = lambda / death(k+1) only falls, so the tail left out is at
        # most term r / (1 - r): stop when that is negligible against the sum.
        terms, total, k = [1.0], 1.0, 0
        while True:
            k += 1
            term = terms[-1] * self.arrival_rate / self._death_rate(k)
            terms.append(term)
            total += term
            ratio = self.arrival_rate / self._death_rate(k + 1)
            if k >= self.servers and ratio < 1 and term * ratio / (1 - ratio) < TAIL_MASS * total:
                break
        pi = np.array(terms)
        return pi / pi.sum()

    @property
    def stationary(self) -> np.ndarray:
        """P(k in system), k = 0..N (cut where the tail left out is below 1e-15)."""
        return self._pi  # type: ignore[attr-defined]

    @property
    def mean_queue(self) -> float:
        pi = self.stationary
        waiting = np.maximum(np.arange(len(pi)) - self.servers, 0)
        return float(pi @ waiting)

    @property
    def p_wait(self) -> float:
        """An arrival finds every agent busy (PASTA), so its wait is > 0."""
        return float(self.stationary[self.servers:].sum())

    @property
    def mean_wait(self) -> float:
        """Mean wait over all arrivals, an abandoner's wait being its time to abandon."""
        return self.mean_queue / self.arrival_rate

    @property
    def p_abandon(self) -> float:
        return self.abandon_rate * self.mean_queue / self.arrival_rate

    def _tagged_chain(self) -> tuple[np.ndarray, np.ndarray]:
        """Generator and start of one arrival's place in the queue.

        State m = number waiting ahead of it (0..M); the last two states are
        absorbing: answered, abandoned. Those ahead leave at c mu + m theta
        (one answered, or one of them abandons); it abandons at theta.
        """
        pi = self.stationary
        ahead = len(pi) - self.servers  # m = 0 .. ahead-1
        answered, abandoned = ahead, ahead + 1
        q = np.zeros((ahead + 2, ahead + 2))
        for m in range(ahead):
            moves_up = self.servers * self.service_rate + m * self.abandon_rate
            q[m, m - 1 if m else answered] = moves_up
            q[m, abandoned] = self.abandon_rate
            q[m, m] = -q[m].sum()
        start = np.zeros(ahead + 2)
        start[:ahead] = pi[self.servers:]
        start[answered] = pi[: self.servers].sum()
        return q, start

    def _at(self, minutes: float) -> np.ndarray:
        q, start = self._tagged_chain()
        return start @ expm(q * minutes)

    def p_wait_exceeds(self, minutes: float) -> float:
        """P(Wq > t): still in the queue t minutes after arriving."""
        return float(self._at(minutes)[:-2].sum())

    def service_level(self, minutes: float) -> float:
        """Share of all arrivals answered within `minutes`."""
        return float(self._at(minutes)[-2])
