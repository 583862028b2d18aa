"""The M/M/c models `routelab speed` races routelab against, each runnable as its own process.

    python -m benchmarks.baselines MODEL --tickets N [--seed S] [--waits FILE.npy]

MODEL: `callbacks` (SimPy from bare events and callbacks: no process per
ticket, no Resource), `processes` (SimPy with a process per ticket and a
Resource), `ciw` (Ciw with its own random numbers), `ciw-replay` (Ciw fed
routelab's inputs) or `routelab` (routelab's model under FIFO, without its
tables and files). The SimPy models and `ciw-replay` draw the very arrival
times and work content routelab draws for the same M/M/c and seed
(`mmc_inputs`), so under FIFO their waits equal routelab's ticket by ticket.
This module imports only SimPy and numpy (Ciw or routelab when asked), so a
whole-process time is the model's. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import simpy

if TYPE_CHECKING:
    from sim.model import SupportModel

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


def simpy_processes(replay: Replay, env: simpy.Environment | None = None) -> list[float]:
    """Waits per ticket from the textbook SimPy model: one process per ticket, a Resource."""
    env = env or simpy.Environment()
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


def simpy_callbacks(replay: Replay, env: simpy.Environment | None = None) -> list[float]:
    """Waits per ticket from SimPy timeouts and callbacks alone: no processes, no Resource."""
    env = env or simpy.Environment()
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


def routelab_fifo(queue: Queue, seed: int) -> Callable[[], SupportModel]:
    """routelab's own model of this queue under FIFO, set up to run (it draws its own
    inputs as it runs, so its time includes drawing them)."""
    from agents.heuristics import Fifo
    from sim.model import SupportModel
    from sim.scenario import parse_scenario

    scenario = parse_scenario(mmc_data(queue), "<speed>")
    return lambda: SupportModel(scenario, seed).run(Fifo())


def mmc_data(queue: Queue) -> dict[str, object]:
    """The routelab scenario of this queue (a warm-up of an hour at most: it starts empty)."""
    horizon = queue.horizon_minutes
    return {
        "name": f"mm{queue.agents}",
        "horizon_hours": queue.horizon_hours,
        "warmup_hours": min(60.0, horizon / 10) / MINUTES_PER_HOUR,
        "ticket_types": {"ticket": {"arrivals_per_hour": queue.arrivals_per_minute * 60,
                                    "handle_minutes": {"dist": "exponential",
                                                       "mean": HANDLE_MINUTES}}},
        "agent_groups": {"agents": {"agents": queue.agents, "skills": {"ticket": 1.0}}},
    }


MODELS = ("routelab", "callbacks", "processes", "ciw", "ciw-replay")


def run_model(name: str, queue: Queue, seed: int,
              first: int | None = None) -> tuple[dict[str, object], np.ndarray]:
    """Run one model; its figures and an (arrival, wait) row per ticket, in arrival order.

    The figures: tickets, events scheduled (None for Ciw) and the simulation's
    CPU and wall seconds, from the inputs in hand (routelab: its scenario) to the
    waits. `first` keeps only the first tickets of a replay (under FIFO a ticket's
    wait depends only on earlier tickets, so a prefix replays exactly).
    """
    replay = mmc_inputs(queue, seed) if name in ("callbacks", "processes", "ciw-replay") else None
    if replay is not None and first is not None:
        replay = Replay(replay.arrivals[:first], replay.work[:first], replay.agents)
    routelab = routelab_fifo(queue, seed) if name == "routelab" else None
    cpu, wall = time.process_time(), time.perf_counter()
    events = None
    if routelab is not None:
        model = routelab()
    elif name == "ciw":
        run = ciw_mmc(queue, seed)
        arrivals, waits = run.arrivals, run.waits
    elif name == "ciw-replay":
        arrivals, waits = replay.arrivals, ciw_replay(replay)
    else:
        env = simpy.Environment()
        waits = (simpy_callbacks if name == "callbacks" else simpy_processes)(replay, env)
        arrivals, events = replay.arrivals, next(env._eid)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if routelab is not None:
        tickets = model.tickets
        arrivals = tickets.arrival[:tickets.n]
        waits = [s - a for s, a in zip(tickets.start[:tickets.n], arrivals, strict=True)]
        events = next(model.env._eid)
    figures = {"model": name, "tickets": run.arrived if name == "ciw" else len(arrivals),
               "events": events, "simulate_cpu_seconds": cpu, "simulate_wall_seconds": wall}
    return figures, np.column_stack([np.asarray(arrivals, float), np.asarray(waits, float)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.baselines",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("--tickets", type=int, default=600_000)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first", type=int, help="Replay only the first tickets of the inputs.")
    parser.add_argument("--waits", help="Write (arrival, wait) of each ticket to this .npy file.")
    args = parser.parse_args(argv)
    figures, waits = run_model(args.model, Queue(args.agents, args.tickets), args.seed,
                               args.first)
    if args.waits:
        np.save(args.waits, waits)
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
