"""The M/M/c models `routelab speed` races routelab against, each runnable as its own process.

    python -m benchmarks.baselines callbacks|processes|ciw|ciw-replay --tickets N [--seed S]

SimPy from bare events and callbacks (no process per ticket, no Resource),
SimPy with a process per ticket and a Resource, and Ciw. The SimPy models and
`ciw-replay` draw the very arrival times and work content routelab draws for
the same M/M/c and seed (`mmc_inputs`), so under FIFO their waits equal
routelab's ticket by ticket; `ciw` draws its own numbers. This module imports
only SimPy and numpy (Ciw when asked), so a whole-process time is the model's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import simpy

LOAD = 0.9
HANDLE_MINUTES = 1.0
MINUTES_PER_HOUR = 60.0


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


@dataclass(frozen=True)
class Queue:
    """An M/M/c at LOAD, handle HANDLE_MINUTES, sized for about `tickets` arrivals."""

    agents: int
    tickets: int

    @property
    def arrivals_per_minute(self) -> float:
        return LOAD * self.agents / HANDLE_MINUTES

    @property
    def horizon_hours(self) -> float:
        return self.tickets / self.arrivals_per_minute / MINUTES_PER_HOUR

    @property
    def horizon_minutes(self) -> float:
        return self.horizon_hours * MINUTES_PER_HOUR  # as routelab's Scenario computes it


def mmc_inputs(queue: Queue, seed: int) -> Replay:
    """routelab's arrivals and work for this queue and seed, drawn as sim.arrivals draws them:
    one seed sequence per ticket type (here one), spawning gap and work generators."""
    gap_seq, work_seq, _, _ = np.random.SeedSequence(seed).spawn(1)[0].spawn(4)
    gap_rng, work_rng = np.random.default_rng(gap_seq), np.random.default_rng(work_seq)
    rate = queue.arrivals_per_minute * MINUTES_PER_HOUR / MINUTES_PER_HOUR
    total = 0.0 + rate * (queue.horizon_minutes - 0.0)
    clocks, last = [], 0.0
    while last < total:  # in blocks until the integrated rate passes its total
        block = np.cumsum(np.concatenate(([last], gap_rng.exponential(1.0, 65536))))[1:]
        clocks.append(block)
        last = block[-1]
    clock = np.concatenate(clocks)
    when = clock[clock < total] / rate
    arrivals, previous = [], 0.0
    for w in when.tolist():  # each arrival is scheduled from the one before it
        previous = previous + (w - previous) if w > previous else previous + 0.0
        arrivals.append(previous)
    work = work_rng.exponential(HANDLE_MINUTES, len(arrivals)).tolist()
    return Replay(arrivals, work, queue.agents)


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


def ciw_mmc(queue: Queue, seed: int) -> CiwRun:
    """Ciw's own M/M/c run to the horizon, and its service records."""
    import ciw

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=queue.arrivals_per_minute)],
        service_distributions=[ciw.dists.Exponential(rate=1 / HANDLE_MINUTES)],
        number_of_servers=[queue.agents],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(queue.horizon_minutes)
    records = sorted(simulation.get_all_records(), key=lambda r: r.arrival_date)
    return CiwRun(simulation.nodes[0].number_of_individuals,
                  [r.arrival_date for r in records], [r.waiting_time for r in records])


def ciw_replay(replay: Replay, drain_minutes: float = 10_000.0) -> list[float]:
    """Waits per ticket from Ciw fed routelab's inputs (FIFO serves in arrival order)."""
    import ciw

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


MODELS = ("callbacks", "processes", "ciw", "ciw-replay")


def run_model(name: str, queue: Queue, seed: int) -> tuple[dict[str, float], list[float]]:
    """Run one model; its figures (simulation seconds of CPU and wall) and waits."""
    replay = None if name == "ciw" else mmc_inputs(queue, seed)
    cpu, wall = time.process_time(), time.perf_counter()
    if name == "ciw":
        run = ciw_mmc(queue, seed)
        tickets, waits = run.arrived, run.waits
    else:
        model = {"callbacks": simpy_callbacks, "processes": simpy_processes,
                 "ciw-replay": ciw_replay}[name]
        waits = model(replay)
        tickets = len(replay.arrivals)
    figures = {"model": name, "tickets": tickets,
               "simulate_cpu_seconds": time.process_time() - cpu,
               "simulate_wall_seconds": time.perf_counter() - wall,
               "mean_wait_min": math.fsum(waits) / len(waits) if waits else math.nan}
    return figures, waits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.baselines",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("--tickets", type=int, default=600_000)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--waits", help="Write each ticket's wait to this .npy file.")
    args = parser.parse_args(argv)
    figures, waits = run_model(args.model, Queue(args.agents, args.tickets), args.seed)
    if args.waits:
        np.save(args.waits, np.asarray(waits, dtype=float))
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
