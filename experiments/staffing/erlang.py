"""Analytic head counts for one queue: Erlang C (M/M/c) and Erlang A (M/M/c+M).

The service level is the share of all arrivals answered within `answer_minutes`
(an abandoner counts as not answered), in the long run at constant rates.
Erlang C has a closed form; Erlang A is the birth-death chain of the number in
system, cut where the mass left out is negligible, and one arrival's place in
the queue as a small absorbing chain started from what it sees on arrival
(PASTA). Times are in minutes and rates per minute throughout.

pyworkforce (0.5.1 on the registry here) has Erlang C only and pulls OR-Tools;
these few exact formulas are lighter and cover abandonment too.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import expm

TAIL_MASS = 1e-12
MAX_AGENTS = 10_000


def erlang_b(agents: int, load_erlangs: float) -> float:
    """Blocking probability of M/M/c/c: B_k = a B_{k-1} / (k + a B_{k-1}), B_0 = 1."""
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = load_erlangs * blocking / (k + load_erlangs * blocking)
    return blocking


def erlang_c(agents: int, load_erlangs: float) -> float:
    """Probability that an arrival waits in M/M/c (1 when the queue is unstable)."""
    if load_erlangs >= agents:
        return 1.0
    blocking = erlang_b(agents, load_erlangs)
    return agents * blocking / (agents - load_erlangs * (1 - blocking))


def erlang_c_service_level(agents: int, arrival_rate: float, service_rate: float,
                           answer_minutes: float) -> float:
    """Share answered within `answer_minutes` in M/M/c: 1 - C exp(-(c mu - lambda) t)."""
    if arrival_rate == 0:
        return 1.0
    drain = agents * service_rate - arrival_rate
    if drain <= 0:
        return 0.0  # the queue grows without bound: in the long run nobody is answered in time
    return 1.0 - erlang_c(agents, arrival_rate / service_rate) * math.exp(-drain * answer_minutes)


def _stationary(agents: int, arrival_rate: float, service_rate: float,
                abandon_rate: float) -> np.ndarray:
    """P(k in system) of M/M/c+M, cut where the tail left out is below TAIL_MASS."""

    def death(k: int) -> float:
        return min(k, agents) * service_rate + max(k - agents, 0) * abandon_rate

    terms, total, k = [1.0], 1.0, 0
    while True:
        k += 1
        term = terms[-1] * arrival_rate / death(k)
        terms.append(term)
        total += term
        ratio = arrival_rate / death(k + 1)
        # Past the mode the ratio only falls: the tail is at most term r / (1 - r).
        if k >= agents and ratio < 1 and term * ratio / (1 - ratio) < TAIL_MASS * total:
            break
    pi = np.array(terms)
    return pi / pi.sum()


def erlang_a_service_level(agents: int, arrival_rate: float, service_rate: float,
                           answer_minutes: float, abandon_rate: float) -> float:
    """Share of all arrivals answered within `answer_minutes` in M/M/c+M.

    One arrival's state is the number waiting ahead of it; those ahead leave
    at c mu + m theta (one is answered, or one of them abandons), and it
    abandons itself at theta. It is answered when it reaches the head and an
    agent frees.
    """
    if abandon_rate == 0:
        return erlang_c_service_level(agents, arrival_rate, service_rate, answer_minutes)
    if arrival_rate == 0:
        return 1.0
    if agents == 0:
        return 0.0
    pi = _stationary(agents, arrival_rate, service_rate, abandon_rate)
    ahead = len(pi) - agents  # states m = 0 .. ahead-1, then answered, abandoned
    answered, abandoned = ahead, ahead + 1
    q = np.zeros((ahead + 2, ahead + 2))
    for m in range(ahead):
        q[m, m - 1 if m else answered] = agents * service_rate + m * abandon_rate
        q[m, abandoned] = abandon_rate
        q[m, m] = -q[m].sum()
    start = np.zeros(ahead + 2)
    start[:ahead] = pi[agents:]
    start[answered] = pi[:agents].sum()
    return float((start @ expm(q * answer_minutes))[answered])


def service_level(agents: int, arrival_rate: float, service_rate: float, answer_minutes: float,
                  abandon_rate: float = 0.0) -> float:
    """Erlang A where callers abandon (abandon_rate > 0), Erlang C otherwise."""
    return erlang_a_service_level(agents, arrival_rate, service_rate, answer_minutes,
                                  abandon_rate)


def required_agents(arrival_rate: float, service_rate: float, answer_minutes: float,
                    target: float, abandon_rate: float = 0.0) -> int:
    """The fewest agents whose long-run service level reaches `target` (< 1)."""
    if not 0 <= target < 1:
        raise ValueError(f"target must be in [0, 1), got {target}")
    if arrival_rate == 0 or target == 0:
        return 0
    load = arrival_rate / service_rate

    def meets(agents: int) -> bool:
        return service_level(agents, arrival_rate, service_rate, answer_minutes,
                             abandon_rate) >= target

    # Square-root staffing is close; walk from there (the service level rises with c).
    agents = max(1, math.ceil(load + 0.5 * math.sqrt(load)))
    if meets(agents):
        while agents > 1 and meets(agents - 1):
            agents -= 1
        return agents
    while not meets(agents):
        agents += 1
        if agents > MAX_AGENTS:
            raise ValueError(f"no head count up to {MAX_AGENTS} reaches {target:g}")
    return agents
