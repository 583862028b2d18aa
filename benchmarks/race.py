"""The M/M/10 race: routelab against SimPy and Ciw, each a fresh process, on the same queue.

Each round runs, one after the other: `routelab simulate` (reads the scenario,
simulates under FIFO, writes its four files), routelab's model alone, SimPy
from callbacks alone, SimPy with processes and a Resource, and Ciw. A whole-
process time is the CPU time of the child process (its user plus system
time), with its wall time beside it; an in-process time is what the process
reports for its simulation alone. Rounds interleave the models, so a busy
spell on the machine hits them all; the best round of each model counts.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import yaml

from benchmarks.baselines import HANDLE_MINUTES, LOAD, Queue, mmc_data
from benchmarks.theory import batch_means, erlang_c_mean_wait

AGENTS = 10
SEED = 0  # `routelab simulate` runs seeds 0..N-1; the race runs seed 0 everywhere
REPLAY_TOLERANCE_MIN = 1e-6  # event times may differ by float rounding, no more
ROUTELAB = "routelab"
MODELS = {  # name -> the baselines model run for it (routelab's whole process is `simulate`)
    ROUTELAB: "routelab",
    "SimPy callbacks only": "callbacks",
    "SimPy processes + Resource": "processes",
    "Ciw": "ciw",
}
REPLAYED = ("SimPy callbacks only", "SimPy processes + Resource")


@dataclass(frozen=True)
class Lap:
    cpu: float
    wall: float


@dataclass
class Entry:
    """What the race measured of one model."""

    name: str
    tickets: int = 0
    events: int | None = None
    whole: list[Lap] = field(default_factory=list)  # the whole process, per round
    inside: list[float] = field(default_factory=list)  # CPU of the simulation alone, per round

    @property
    def best(self) -> Lap:
        return min(self.whole, key=lambda lap: lap.cpu)

    def rate(self, kind: str) -> float:
        seconds = self.best.cpu if kind == "whole" else min(self.inside)
        return self.tickets / seconds

    def as_dict(self) -> dict[str, Any]:
        best = self.best
        return {"model": self.name, "tickets": self.tickets, "events": self.events,
                "whole_process": {"cpu_seconds": [round(x.cpu, 3) for x in self.whole],
                                  "wall_seconds": [round(x.wall, 3) for x in self.whole],
                                  "best_cpu_seconds": round(best.cpu, 3),
                                  "wall_seconds_of_best": round(best.wall, 3),
                                  "best_wall_seconds": round(min(x.wall for x in self.whole), 3),
                                  "tickets_per_cpu_second": round(self.rate("whole"))},
                "in_process": {"cpu_seconds": [round(x, 3) for x in self.inside],
                               "best_cpu_seconds": round(min(self.inside), 3),
                               "tickets_per_cpu_second": round(self.rate("inside"))}}


def run_process(argv: list[str]) -> tuple[Lap, str]:
    """Run a child process to its end: its CPU (user + system) and wall seconds, its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise click.ClickException(f"{' '.join(argv[2:5])}... failed: {last}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Lap(cpu, wall), done.stdout


def _baseline(model: str, tickets: int, seed: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.baselines", model, "--tickets", str(tickets),
            "--agents", str(AGENTS), "--seed", str(seed), *extra]


def _note(message: str) -> None:
    click.echo(f"speed: {message}", err=True)


def race(tickets: int, rounds: int, ciw_replay_tickets: int, workdir: Path) -> dict[str, Any]:
    """Race the models `rounds` times on one M/M/10 and check them against each other."""
    queue, seed = Queue(AGENTS, tickets), SEED
    scenario_path = workdir / "mm10.yaml"
    scenario_path.write_text(yaml.safe_dump(mmc_data(queue), sort_keys=False))
    out = workdir / "simulate"
    command = ["simulate", str(scenario_path), "--policy", "fifo", "--out", str(out), "--quiet"]
    simulate = [sys.executable, "-m", "experiments.cli", *command]
    entries = {name: Entry(name) for name in MODELS}
    waits: dict[str, Path] = {}
    for round_ in range(rounds):
        for name, model in MODELS.items():
            extra = []
            if round_ == 0 and name in (*REPLAYED, "Ciw"):
                waits[name] = workdir / f"{model}.npy"
                extra = ["--waits", str(waits[name])]
            lap, printed = run_process(_baseline(model, tickets, seed, *extra))
            figures = json.loads(printed)
            entry = entries[name]
            entry.tickets, entry.events = figures["tickets"], figures["events"]
            entry.inside.append(figures["simulate_cpu_seconds"])
            if name == ROUTELAB:
                lap, _ = run_process(simulate)  # the whole process is the command
            entry.whole.append(lap)
        _note(f"M/M/10 round {round_ + 1}/{rounds}: " + ", ".join(
            f"{e.name} {e.whole[-1].cpu:.2f} s" for e in entries.values()) + " (CPU, whole process)")
    routelab = pd.read_parquet(out / "tickets.parquet",
                               columns=["arrival_min", "wait_min", "counted", "outcome"])
    if len(routelab) != entries[ROUTELAB].tickets:
        raise click.ClickException("routelab simulate and routelab's model ran different tickets")
    checks = replay_checks(routelab, waits, queue, seed, ciw_replay_tickets, workdir)
    summary = pd.read_csv(out / "summary.csv")
    return {
        "queue": {"agents": AGENTS, "arrivals_per_minute": queue.arrivals_per_minute,
                  "handle_minutes": HANDLE_MINUTES, "load": LOAD,
                  "horizon_minutes": round(queue.horizon_minutes, 3), "seed": seed,
                  "rounds": rounds,
                  "command": "routelab simulate mm10.yaml --policy fifo --out DIR --quiet"},
        "models": [e.as_dict() for e in entries.values()],
        "ratios": ratios(entries),
        "checks": checks,
        "erlang_c": erlang_checks(routelab, summary, waits["Ciw"], queue),
    }


def ratios(entries: dict[str, Entry]) -> dict[str, dict[str, float]]:
    """routelab's tickets per CPU second over each other model's, whole process and in process;
    and the ratio of best wall times, which other jobs on the machine may disturb."""
    mine = entries[ROUTELAB]
    return {name: {"whole_process": round(mine.rate("whole") / other.rate("whole"), 3),
                   "in_process": round(mine.rate("inside") / other.rate("inside"), 3),
                   "whole_process_wall": round(
                       (mine.tickets / min(x.wall for x in mine.whole))
                       / (other.tickets / min(x.wall for x in other.whole)), 3)}
            for name, other in entries.items() if name != ROUTELAB}


def replay_checks(routelab: pd.DataFrame, waits: dict[str, Path], queue: Queue, seed: int,
                  ciw_replay_tickets: int, workdir: Path) -> dict[str, Any]:
    """Ticket by ticket: the SimPy models ran routelab's arrivals and got its waits; so does
    Ciw fed the same inputs, on the first `ciw_replay_tickets` tickets."""
    arrivals, mine = routelab["arrival_min"].to_numpy(), routelab["wait_min"].to_numpy()
    checks: dict[str, Any] = {}
    for name in REPLAYED:
        theirs = np.load(waits[name])
        if len(theirs) != len(mine):
            raise click.ClickException(f"{name} ran {len(theirs)} tickets, routelab {len(mine)}")
        checks[name] = {"tickets": len(mine),
                        "max_arrival_difference_min": float(np.max(np.abs(theirs[:, 0] - arrivals))),
                        "max_wait_difference_min": float(np.max(np.abs(theirs[:, 1] - mine)))}
    first = min(ciw_replay_tickets, len(mine))
    path = workdir / "ciw-replay.npy"
    run_process(_baseline("ciw-replay", queue.tickets, seed, "--first", str(first),
                          "--waits", str(path)))
    theirs = np.load(path)
    checks["Ciw fed routelab's inputs"] = {
        "tickets": first, "of": len(mine),
        "max_arrival_difference_min": float(np.max(np.abs(theirs[:, 0] - arrivals[:first]))),
        "max_wait_difference_min": float(np.max(np.abs(theirs[:, 1] - mine[:first])))}
    checks["agree"] = all(c["max_wait_difference_min"] <= REPLAY_TOLERANCE_MIN
                          and c["max_arrival_difference_min"] <= REPLAY_TOLERANCE_MIN
                          for c in checks.values())
    checks["tolerance_min"] = REPLAY_TOLERANCE_MIN
    return checks


def erlang_checks(routelab: pd.DataFrame, summary: pd.DataFrame, ciw_waits: Path,
                  queue: Queue) -> dict[str, Any]:
    """Mean wait of the counted tickets against Erlang C, with a batch-means 95% interval."""
    theory = erlang_c_mean_wait(AGENTS, queue.arrivals_per_minute, HANDLE_MINUTES)
    counted = routelab[routelab["counted"]]["wait_min"].to_numpy()
    warmup = mmc_data(queue)["warmup_hours"] * 60.0
    ciw = np.load(ciw_waits)
    rows = {ROUTELAB: counted, "Ciw": ciw[ciw[:, 0] >= warmup, 1]}
    result: dict[str, Any] = {"erlang_c_mean_wait_min": theory}
    for name, values in rows.items():
        mean, half = batch_means(values.tolist())
        result[name] = {"tickets": len(values), "mean_wait_min": mean, "ci95_half_width": half,
                        "relative_to_erlang_c": mean / theory - 1,
                        "erlang_c_inside_ci": bool(abs(mean - theory) <= half)}
    result[ROUTELAB]["summary_csv_mean_wait_min"] = float(
        summary.loc[summary["ticket_type"] == "ALL", "mean_wait_min"].iloc[0])
    result[ROUTELAB]["summary_agrees"] = math.isclose(
        result[ROUTELAB]["summary_csv_mean_wait_min"], result[ROUTELAB]["mean_wait_min"],
        rel_tol=1e-9)
    return result
