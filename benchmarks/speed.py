"""`routelab speed`: how fast routelab is next to SimPy and Ciw, where its time goes, how it scales.

The race (benchmarks.race) times whole processes on one M/M/10 at load 0.9;
one sampled run (benchmarks.where) splits routelab's time into its parts;
scaling and memory (benchmarks.scaling) run in this process and a probe.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click

from experiments.errors import UserError

SEED = 0


class Plan:
    """How much to measure: the default run, --long (the old, longer one) or --quick (a smoke test)."""

    def __init__(self, *, long: bool, quick: bool, tickets: int | None,
                 rounds: int | None) -> None:
        kind = "quick" if quick else "long" if long else "default"
        race_tickets, scale_tickets, rounds_default, self.repeats = {
            "default": (600_000, 50_000, 2, 1),
            "long": (600_000, 200_000, 3, 3),
            "quick": (20_000, 20_000, 1, 1)}[kind]
        self.kind = kind
        self.tickets = tickets or race_tickets
        self.scale_tickets = min(scale_tickets, self.tickets)
        self.rounds = rounds or rounds_default
        # Ciw replays routelab's inputs slowly: a prefix by default, every ticket with --long.
        self.ciw_replay = self.tickets if kind != "default" else min(100_000, self.tickets)
        self.agents = {"default": (10, 100, 1000), "long": (10, 30, 100, 300, 1000),
                       "quick": (10, 100)}[kind]
        self.types = {"default": (1, 10, 30), "long": (1, 3, 10, 30), "quick": (1, 5)}[kind]
        self.day_tickets = 5_000 if quick else 50_000


def where_the_time_goes(scenario: Path, workdir: Path) -> dict[str, Any]:
    """One `routelab simulate` of the race's scenario under the sampling profiler."""
    out = workdir / "where.json"
    argv = [sys.executable, "-m", "benchmarks.where", str(out), "--", "simulate", str(scenario),
            "--policy", "fifo", "--out", str(workdir / "where"), "--quiet"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise click.ClickException(f"the sampled routelab run failed: {last}")
    where = json.loads(out.read_text())
    where["command"] = ["routelab", "simulate", "mm10.yaml", "--policy", "fifo"]
    return where


@click.command()
@click.option("--tickets", type=click.IntRange(min=2_000), default=None,
              help="Tickets in the M/M/10 race [default: 600,000; 20,000 with --quick].")
@click.option("--rounds", type=click.IntRange(min=1), default=None,
              help="Rounds of the race; the best of each model counts [default: 2; 3 with "
                   "--long; 1 with --quick].")
@click.option("--long", "long_", is_flag=True,
              help="The longer run: 3 rounds, Ciw replays every ticket, scaling over 200,000 "
                   "tickets from 10 to 1,000 agents and 1 to 30 types, best of 3.")
@click.option("--quick", is_flag=True,
              help="Small counts and one round: a smoke test, not a measurement.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the figures to this JSON file.")
def speed(tickets: int | None, rounds: int | None, long_: bool, quick: bool,
          json_path: Path | None) -> None:
    """Race routelab against SimPy and Ciw on one M/M/10, show where its time goes and how it scales.

    The race times whole processes (`routelab simulate` against SimPy from
    callbacks alone, SimPy with processes and a Resource, and Ciw) and each
    model's simulation alone, the SimPy models on routelab's own arrivals and
    work content, so their waits are compared with routelab's ticket by ticket
    (Ciw fed the same inputs too: the first 100,000 tickets, every one with
    --long). The default run takes about 70 s of CPU: a minute and a bit on two
    free cores, longer when other jobs share them.
    """
    if importlib.util.find_spec("ciw") is None:
        raise UserError("routelab speed needs the bench extra: pip install 'routelab[bench]'")
    # The work is imported here, so that `routelab speed --help` starts at once.
    from benchmarks import report
    from benchmarks.race import race
    from benchmarks.scaling import peak_memory, scale_agents, scale_types
    from experiments.io import write_json

    if quick and long_:
        raise UserError("--quick and --long: choose one")
    plan = Plan(long=long_, quick=quick, tickets=tickets, rounds=rounds)
    started = time.perf_counter()
    load_before = os.getloadavg()
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="routelab-speed-") as folder:
        workdir = Path(folder)
        result["race"] = race(plan.tickets, plan.rounds, plan.ciw_replay, workdir)
        report.print_race(result["race"])
        result["where"] = where_the_time_goes(workdir / "mm10.yaml", workdir)
        report.print_where(result["where"])
        report.print_checks(result["race"]["checks"], result["race"]["erlang_c"])
    result["scaling_agents"] = scale_agents(plan.agents, plan.scale_tickets, SEED, plan.repeats)
    result["scaling_types"] = scale_types(plan.types, plan.scale_tickets, SEED, plan.repeats)
    report.print_scaling(result["scaling_agents"], result["scaling_types"])
    result["memory"] = peak_memory(plan.day_tickets, SEED)
    report.print_memory(result["memory"])
    wall = time.perf_counter() - started
    result["machine"] = {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "versions": {p: version(p) for p in ("routelab", "simpy", "ciw", "numpy", "pandas")},
    }
    result["settings"] = {"run": plan.kind, "tickets": plan.tickets, "rounds": plan.rounds,
                          "ciw_replay_tickets": plan.ciw_replay,
                          "scaling_tickets": plan.scale_tickets, "repeats": plan.repeats,
                          "seed": SEED, "wall_seconds": round(wall, 1)}
    click.echo(f"routelab speed: {wall:.0f} s in all (load average {load_before[0]:.1f} before, "
               f"{os.getloadavg()[0]:.1f} after)")
    if json_path is not None:
        try:
            write_json(result, json_path)
        except OSError as error:
            raise UserError(
                f"--json {json_path}: cannot write ({error.strerror or error})") from None
        click.echo(f"wrote {json_path}")
    if not result["race"]["checks"]["agree"]:
        raise click.ClickException("the models disagree on replayed inputs: see the checks above")
