"""The M/M/c queues `routelab speed` races routelab against, and the theory it checks them by.

Besides routelab: Ciw, SimPy with a process per ticket and a Resource, and
SimPy from bare events and callbacks (the ceiling of a SimPy design). Both
SimPy models replay routelab's own arrival times and work content, so under
FIFO their waits equal routelab's ticket by ticket; Ciw draws its own numbers
and is judged against Erlang C, and once more on replayed inputs.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import ciw
import simpy
from scipy import stats


@dataclass(frozen=True)
class Replay:
    """The inputs of one M/M/c run: arrival times and work content, in arrival order."""

    arrivals: list[float]
    work: list[float]
    agents: int


@dataclass(frozen=True)
class CiwRun:
    arrived: int  # tickets that arrived before the horizon
    arrivals: list[float]  # of the tickets whose service ended before it
    waits: list[float]


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
    if not values:
        return math.nan, math.nan
    mean = math.fsum(values) / len(values)
    size = len(values) // batches
    if size == 0:
        return mean, math.nan
    means = [math.fsum(values[b * size:(b + 1) * size]) / size for b in range(batches)]
    centre = math.fsum(means) / batches
    spread = math.sqrt(math.fsum((m - centre) ** 2 for m in means) / (batches - 1))
    return mean, float(stats.t.ppf(0.975, batches - 1)) * spread / math.sqrt(batches)


def simpy_processes(replay: Replay) -> list[float]:
    """Waits per ticket from the textbook SimPy model: one process per ticket, a Resource."""
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=replay.agents)
    arrivals, work = replay.arrivals, replay.work
    waits = [math.nan] * len(arrivals)

    def ticket(i: int):
        with agents.request() as request:
            yield request
            waits[i] = env.now - arrivals[i]
            yield env.timeout(work[i])

    def source():
        for i, arrival in enumerate(arrivals):
            yield env.timeout(arrival - env.now)
            env.process(ticket(i))

    env.process(source())
    env.run()
    return waits


def simpy_callbacks(replay: Replay) -> list[float]:
    """Waits per ticket from SimPy timeouts and callbacks alone: no processes, no Resource."""
    env = simpy.Environment()
    arrivals, work = replay.arrivals, replay.work
    last = len(arrivals) - 1
    waits = [math.nan] * len(arrivals)
    waiting: deque[int] = deque()
    idle = [replay.agents]

    def start(i: int) -> None:
        waits[i] = env.now - arrivals[i]
        env.timeout(work[i]).callbacks.append(finish)

    def finish(_event: simpy.Event) -> None:
        if waiting:
            start(waiting.popleft())
        else:
            idle[0] += 1

    def arrive(event: simpy.Event) -> None:
        i = event._value
        if idle[0]:
            idle[0] -= 1
            start(i)
        else:
            waiting.append(i)
        if i < last:
            env.timeout(arrivals[i + 1] - env.now, i + 1).callbacks.append(arrive)

    if arrivals:
        env.timeout(arrivals[0], 0).callbacks.append(arrive)
    env.run()
    return waits


def ciw_mmc(agents: int, arrivals_per_minute: float, handle_minutes: float,
            horizon_minutes: float, seed: int) -> CiwRun:
    """Ciw's own M/M/c run to the horizon, and its service records."""
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=arrivals_per_minute)],
        service_distributions=[ciw.dists.Exponential(rate=1 / handle_minutes)],
        number_of_servers=[agents],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(horizon_minutes)
    records = sorted(simulation.get_all_records(), key=lambda r: r.arrival_date)
    return CiwRun(simulation.nodes[0].number_of_individuals,
                  [r.arrival_date for r in records], [r.waiting_time for r in records])


def ciw_replay(replay: Replay, drain_minutes: float = 10_000.0) -> list[float]:
    """Waits per ticket from Ciw fed routelab's inputs (FIFO serves in arrival order)."""
    gaps = [b - a for a, b in zip([0.0, *replay.arrivals], replay.arrivals, strict=False)]
    stop = replay.arrivals[-1] + drain_minutes
    network = ciw.create_network(
        # The last gap lies beyond the stop, so the cycled sequence adds no ticket.
        arrival_distributions=[ciw.dists.Sequential([*gaps, 2 * stop])],
        service_distributions=[ciw.dists.Sequential(replay.work)],
        number_of_servers=[replay.agents],
    )
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(stop)
    records = sorted(simulation.get_all_records(), key=lambda r: r.arrival_date)
    if len(records) != len(replay.arrivals):
        raise RuntimeError(f"Ciw replay served {len(records)} of {len(replay.arrivals)} tickets")
    return [r.waiting_time for r in records]
