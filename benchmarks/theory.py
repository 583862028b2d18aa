"""Queueing theory the speed benchmark checks its runs by: Erlang C, batch means."""

from __future__ import annotations

import math
from collections.abc import Sequence


def erlang_c_mean_wait(agents: int, arrivals_per_minute: float, handle_minutes: float) -> float:
    """E[Wq] of M/M/c in minutes (Erlang B by recursion, then Erlang C)."""
    offered = arrivals_per_minute * handle_minutes
    if offered >= agents:
        return math.inf
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = offered * blocking / (k + offered * blocking)
    wait_probability = agents * blocking / (agents - offered * (1 - blocking))
    return wait_probability / (agents / handle_minutes - arrivals_per_minute)


def batch_means(values: Sequence[float], batches: int = 20) -> tuple[float, float]:
    """Mean and 95% half-width of the mean, from contiguous batches (values in arrival order).

    Waits of neighbouring tickets are correlated; means of long batches are
    nearly independent, so a t interval over them is honest where a naive one
    over tickets would be far too narrow.
    """
    from scipy import stats

    if not len(values):
        return math.nan, math.nan
    mean = math.fsum(values) / len(values)
    size = len(values) // batches
    if size == 0:
        return mean, math.nan
    means = [math.fsum(values[b * size:(b + 1) * size]) / size for b in range(batches)]
    centre = math.fsum(means) / batches
    spread = math.sqrt(math.fsum((m - centre) ** 2 for m in means) / (batches - 1))
    return mean, float(stats.t.ppf(0.975, batches - 1)) * spread / math.sqrt(batches)
