"""`routelab speed`: how fast the simulator is, next to Ciw and plain SimPy, and how it scales.

One run measures, best of --repeats each: the same M/M/10 at load 0.9 through
routelab, Ciw, a process-per-ticket SimPy model and a callback-only SimPy
model; routelab's time per ticket from 10 to 1,000 agents and from 1 to 30
ticket types in two staffing layouts; and, in a fresh process, the peak memory
of a 50,000-ticket day including its ticket table.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from agents.heuristics import Fifo
from experiments.errors import UserError
from experiments.io import write_json
from experiments.speed_baselines import (
    Replay,
    batch_means,
    ciw_mmc,
    ciw_replay,
    erlang_c_mean_wait,
    simpy_callbacks,
    simpy_processes,
)
from sim.metrics import summary_rows as summarise
from sim.metrics import ticket_table
from sim.model import SupportModel
from sim.scenario import Scenario, parse_scenario

LOAD = 0.9
HANDLE_MINUTES = 1.0
MMC_AGENTS = 10
AGENTS_PER_TYPE = 10
TICKETS, QUICK_TICKETS = 200_000, 20_000
DAY_TICKETS, QUICK_DAY_TICKETS = 50_000, 5_000
AGENT_COUNTS, QUICK_AGENT_COUNTS = (10, 30, 100, 300, 1000), (10, 100)
TYPE_COUNTS, QUICK_TYPE_COUNTS = (1, 3, 10, 30), (1, 5)
LAYOUTS = ("dedicated", "generalist")
CIW_REPLAY_TICKETS = 20_000  # enough to cover every kind of event; Ciw is slow
DECISION_STATS_TICKETS = 50_000
TARGETS = {"routelab/ciw": 4.0, "routelab/simpy-process": 1.5}
MEMORY_TARGET_MB = 500.0
REPLAY_TOLERANCE_MIN = 1e-6  # waits differ only by float rounding of event times


# -- scenarios built in code -------------------------------------------------------


def mmc_scenario(agents: int, tickets: int) -> Scenario:
    """M/M/c at load 0.9, handle 1 minute, long enough for about `tickets` arrivals."""
    per_minute = LOAD * agents / HANDLE_MINUTES
    horizon = tickets / per_minute
    return parse_scenario({
        "name": f"mm{agents}",
        "horizon_hours": horizon / 60,
        "warmup_hours": min(60.0, horizon / 10) / 60,  # the queue starts empty
        "ticket_types": {"ticket": {"arrivals_per_hour": per_minute * 60,
                                    "handle_minutes": {"dist": "exponential",
                                                       "mean": HANDLE_MINUTES}}},
        "agent_groups": {"agents": {"agents": agents, "skills": {"ticket": 1.0}}},
    }, "<speed>")


def typed_scenario(n_types: int, layout: str, tickets: int) -> Scenario:
    """n types at load 0.9 on 10 agents per type: a team per type, or one generalist group."""
    per_minute = LOAD * AGENTS_PER_TYPE / HANDLE_MINUTES
    names = [f"type{t:02d}" for t in range(n_types)]
    handle = {"dist": "exponential", "mean": HANDLE_MINUTES}
    if layout == "dedicated":
        groups = {f"team{t:02d}": {"agents": AGENTS_PER_TYPE, "skills": {name: 1.0}}
                  for t, name in enumerate(names)}
    else:
        groups = {"generalists": {"agents": AGENTS_PER_TYPE * n_types,
                                  "skills": dict.fromkeys(names, 1.0)}}
    return parse_scenario({
        "name": f"types{n_types}_{layout}",
        "horizon_hours": tickets / (per_minute * n_types) / 60,
        "ticket_types": {n: {"arrivals_per_hour": per_minute * 60, "handle_minutes": handle}
                         for n in names},
        "agent_groups": groups,
    }, "<speed>")


def support_day(tickets: int) -> dict[str, Any]:
    """A 24-hour day of about `tickets` tickets: 5 types, 3 groups, patience, a transfer."""
    per_hour = tickets / 24
    shares = {"card": 0.30, "payments": 0.25, "login": 0.20, "fraud": 0.10, "account": 0.15}
    erlangs = per_hour * 6.0 / 60  # handle 6 minutes at speed 1
    heads = math.ceil(erlangs / LOAD)
    chat = {"dist": "exponential", "mean": 10}
    phone = {"dist": "exponential", "mean": 5}
    types = {
        name: {"channel": "email" if name == "account" else "phone" if name in ("login", "fraud")
               else "chat",
               "arrivals_per_hour": share * per_hour,
               "handle_minutes": {"dist": "lognormal", "mean": 6.0, "cv": 0.8},
               "sla_minutes": 2, "wait_cost_per_minute": 1.0, "abandon_cost": 2.0}
        for name, share in shares.items()
    }
    for name, patience in (("card", chat), ("payments", chat), ("login", phone), ("fraud", phone)):
        types[name]["patience_minutes"] = patience
    types["card"]["transfers"] = {"fraud": 0.03}
    return {
        "name": "support_day", "horizon_hours": 24,
        "ticket_types": types,
        "agent_groups": {
            "generalists": {"agents": round(0.55 * heads),
                            "skills": {"card": 1.0, "payments": 1.0, "account": 1.0, "login": 0.8}},
            "specialists": {"agents": round(0.25 * heads), "skills": {"login": 1.0, "fraud": 1.0}},
            "back_office": {"agents": heads - round(0.55 * heads) - round(0.25 * heads),
                            "skills": {"account": 1.2, "card": 0.9}},
        },
    }


# -- timing ------------------------------------------------------------------------
# Other people's jobs share this machine's two cores. Wall time then measures
# the machine; the CPU time of this process measures the code, so the rates are
# computed from CPU time (best of the repeats) and wall time is shown beside it.


@dataclass(frozen=True)
class Lap:
    cpu: float
    wall: float


class Stopwatch:
    def __init__(self) -> None:
        self._cpu, self._wall = time.process_time(), time.perf_counter()

    def lap(self) -> Lap:
        return Lap(time.process_time() - self._cpu, time.perf_counter() - self._wall)


@dataclass
class Timing:
    """Times of repeated runs of one model; the best (least CPU time) is the one reported."""

    model: str
    tickets: int = 0
    laps: list[Lap] = field(default_factory=list)
    mean_wait_min: float = math.nan
    half_width_min: float = math.nan

    @property
    def best(self) -> Lap:
        return min(self.laps, key=lambda lap: lap.cpu)

    @property
    def rate(self) -> float:
        return self.tickets / self.best.cpu

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "tickets": self.tickets,
                "best_cpu_seconds": round(self.best.cpu, 4),
                "wall_seconds_of_best": round(self.best.wall, 4),
                "cpu_seconds": [round(lap.cpu, 4) for lap in self.laps],
                "wall_seconds": [round(lap.wall, 4) for lap in self.laps],
                "tickets_per_second": round(self.rate, 1),
                "us_per_ticket": round(1e6 / self.rate, 3),
                "mean_wait_min": _round(self.mean_wait_min),
                "mean_wait_ci95_half_width": _round(self.half_width_min)}


@dataclass
class RoutelabRun:
    simulate: Lap
    total: Lap
    model: SupportModel
    tickets: pd.DataFrame
    summary: pd.DataFrame


def run_routelab(scenario: Scenario, seed: int) -> RoutelabRun:
    """Simulate one day under FIFO, then build the ticket table and the summary rows."""
    gc.collect()  # garbage left by the previous run is not this run's cost
    watch = Stopwatch()
    model = SupportModel(scenario, seed).run(Fifo())
    simulated = watch.lap()
    tickets = ticket_table(model)
    summary = summarise(model, tickets, "fifo")
    return RoutelabRun(simulated, watch.lap(), model, tickets, summary)


def timed(run: Callable[..., Any], *args: Any) -> tuple[Lap, Any]:
    gc.collect()
    watch = Stopwatch()
    result = run(*args)
    return watch.lap(), result


def _round(value: float, digits: int = 6) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def _note(message: str) -> None:
    click.echo(f"speed: {message}", err=True)


# -- the M/M/10 race ---------------------------------------------------------------


def race(tickets: int, seed: int, repeats: int) -> dict[str, Any]:
    """routelab, Ciw, process SimPy and callback SimPy on one M/M/10; best of `repeats`."""
    scenario = mmc_scenario(MMC_AGENTS, tickets)
    per_minute = LOAD * MMC_AGENTS / HANDLE_MINUTES
    horizon, warmup = scenario.horizon_minutes, scenario.warmup_minutes
    timings = {name: Timing(name) for name in (
        "routelab", "routelab (simulate only)", "Ciw", "SimPy processes + Resource",
        "SimPy callbacks (ceiling)")}
    first = run_routelab(scenario, seed)
    replay = Replay([k.arrival for k in first.model.tickets],
                    [k.work for k in first.model.tickets], MMC_AGENTS)
    routelab_waits = first.tickets["wait_min"].tolist()
    summary_wait = float(first.summary.iloc[-1]["mean_wait_min"])
    # Keep only numbers: 200,000 live tickets would slow the others' garbage collection.
    laps = (first.total, first.simulate)
    del first
    replayed: dict[str, list[float]] = {}
    for round_ in range(repeats):
        # Rounds interleave the models, so a busy spell on the machine hits them all.
        if round_ > 0:
            run = run_routelab(scenario, seed)
            laps = (run.total, run.simulate)
            del run
        timings["routelab"].laps.append(laps[0])
        timings["routelab (simulate only)"].laps.append(laps[1])
        lap, ciw_run = timed(ciw_mmc, MMC_AGENTS, per_minute, HANDLE_MINUTES, horizon, seed)
        timings["Ciw"].laps.append(lap)
        for name, model in (("SimPy processes + Resource", simpy_processes),
                            ("SimPy callbacks (ceiling)", simpy_callbacks)):
            lap, replayed[name] = timed(model, replay)
            timings[name].laps.append(lap)
        _note(f"M/M/10 round {round_ + 1}/{repeats}: " + ", ".join(
            f"{t.model} {t.laps[-1].cpu:.2f} s" for t in timings.values()) + " (CPU)")

    counted = [i for i, a in enumerate(replay.arrivals) if warmup <= a < horizon]
    for name in ("routelab", "routelab (simulate only)", *replayed):
        timings[name].tickets = len(replay.arrivals)
    for name, waits in [("routelab", routelab_waits), *replayed.items()]:
        timings[name].mean_wait_min, timings[name].half_width_min = batch_means(
            [waits[i] for i in counted])
    ciw_counted = [w for a, w in zip(ciw_run.arrivals, ciw_run.waits, strict=True) if a >= warmup]
    timings["Ciw"].tickets = ciw_run.arrived
    timings["Ciw"].mean_wait_min, timings["Ciw"].half_width_min = batch_means(ciw_counted)

    erlang_c = erlang_c_mean_wait(MMC_AGENTS, per_minute, HANDLE_MINUTES)
    checks = _race_checks(summary_wait, routelab_waits, replayed, replay, timings, erlang_c)
    best = {name: t.rate for name, t in timings.items()}
    ratios = {
        "routelab/ciw": best["routelab"] / best["Ciw"],
        "routelab/simpy-process": best["routelab"] / best["SimPy processes + Resource"],
        "routelab/simpy-callback-ceiling": best["routelab"] / best["SimPy callbacks (ceiling)"],
    }
    return {
        "queue": {"agents": MMC_AGENTS, "arrivals_per_minute": per_minute,
                  "handle_minutes": HANDLE_MINUTES, "load": LOAD,
                  "horizon_minutes": round(horizon, 3), "warmup_minutes": round(warmup, 3),
                  "seed": seed, "erlang_c_mean_wait_min": round(erlang_c, 6)},
        "models": [t.as_dict() for t in timings.values()],
        "routelab_summarise_cpu_seconds": round(
            min(t.cpu - s.cpu for t, s in zip(timings["routelab"].laps,
                                              timings["routelab (simulate only)"].laps,
                                              strict=True)), 4),
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "targets": {k: {"target": v, "met": ratios[k] >= v} for k, v in TARGETS.items()},
        "checks": checks,
    }


def _race_checks(summary_wait: float, routelab_waits: list[float],
                 replayed: dict[str, list[float]], replay: Replay,
                 timings: dict[str, Timing], erlang_c: float) -> dict[str, Any]:
    """Exact agreement on replayed inputs; agreement with Erlang C within the noise."""
    checks: dict[str, Any] = {}
    checks["summary_mean_wait_equals_ticket_table"] = math.isclose(
        summary_wait, timings["routelab"].mean_wait_min, rel_tol=1e-9)
    for name, waits in replayed.items():
        gap = max(abs(a - b) for a, b in zip(waits, routelab_waits, strict=True))
        checks[f"{name}: max wait difference vs routelab (min)"] = gap
    n = min(CIW_REPLAY_TICKETS, len(replay.arrivals))
    prefix = Replay(replay.arrivals[:n], replay.work[:n], replay.agents)
    # Under FIFO a ticket's wait depends only on earlier tickets, so a prefix replays exactly.
    gap = max(abs(a - b) for a, b in zip(ciw_replay(prefix), routelab_waits[:n], strict=True))
    checks[f"Ciw on the first {n} replayed tickets: max wait difference vs routelab (min)"] = gap
    checks["replays_agree"] = all(
        v <= REPLAY_TOLERANCE_MIN for k, v in checks.items() if k.endswith("(min)"))
    for name in ("routelab", "Ciw"):
        t = timings[name]
        checks[f"{name}: mean wait / Erlang C - 1"] = round(t.mean_wait_min / erlang_c - 1, 4)
        checks[f"{name}: Erlang C within 95% CI"] = (
            abs(t.mean_wait_min - erlang_c) <= t.half_width_min)
    return checks


# -- scaling -----------------------------------------------------------------------


def best_routelab(scenarios: list[Scenario], seed: int, repeats: int,
                  label: str) -> list[dict[str, Any]]:
    """Best-of-`repeats` time per ticket of each scenario, the repeats taken in rounds."""
    laps: list[list[tuple[Lap, Lap]]] = [[] for _ in scenarios]
    counts: list[tuple[int, int]] = []
    for round_ in range(repeats):
        # Round-robin, so that a busy spell on the machine does not land on one point.
        for i, scenario in enumerate(scenarios):
            run = run_routelab(scenario, seed)
            laps[i].append((run.total, run.simulate))
            if round_ == 0:
                counts.append((len(run.model.tickets), run.model.decisions))
            del run
        _note(f"{label} round {round_ + 1}/{repeats} done")
    rows = []
    for point, (tickets, decisions) in zip(laps, counts, strict=True):
        total = min((lap for lap, _ in point), key=lambda lap: lap.cpu)
        simulate = min(lap.cpu for _, lap in point)
        rows.append({"tickets": tickets, "decisions_per_ticket": round(decisions / tickets, 4),
                     "us_per_ticket": round(1e6 * total.cpu / tickets, 3),
                     "us_per_ticket_simulate_only": round(1e6 * simulate / tickets, 3),
                     "best_cpu_seconds": round(total.cpu, 4),
                     "wall_seconds_of_best": round(total.wall, 4)})
    return rows


def decision_stats(scenario: Scenario, seed: int) -> dict[str, float]:
    """How many feasible pairs a FIFO decision compares (untimed: it drives the model by hand)."""
    model, policy = SupportModel(scenario, seed), Fifo()
    policy.reset(model, model.policy_rng)
    decisions = choices = compared = 0
    while (pairs := model.next_decision()) is not None:
        decisions += 1
        if len(pairs) > 1:
            choices += 1
            compared += len(pairs)
        model.apply(pairs[0] if len(pairs) == 1 else policy.decide(model, pairs))
    return {"share_with_a_choice": round(choices / decisions, 4) if decisions else 0.0,
            "pairs_per_choice": round(compared / choices, 3) if choices else 0.0}


def scale_agents(counts: tuple[int, ...], tickets: int, seed: int, repeats: int) -> list[dict]:
    timed_rows = best_routelab([mmc_scenario(agents, tickets) for agents in counts], seed,
                               repeats, "agents scaling")
    rows = [{"agents": agents, **row} for agents, row in zip(counts, timed_rows, strict=True)]
    for row in rows:
        row["relative"] = round(row["us_per_ticket"] / rows[0]["us_per_ticket"], 3)
    return rows


def scale_types(counts: tuple[int, ...], tickets: int, seed: int, repeats: int) -> list[dict]:
    points = [(n_types, layout) for layout in LAYOUTS for n_types in counts]
    timed_rows = best_routelab([typed_scenario(n, layout, tickets) for n, layout in points],
                               seed, repeats, "types scaling")
    rows = []
    for (n_types, layout), row in zip(points, timed_rows, strict=True):
        stats = decision_stats(typed_scenario(n_types, layout,
                                              min(tickets, DECISION_STATS_TICKETS)), seed)
        rows.append({"types": n_types, "layout": layout, "agents": AGENTS_PER_TYPE * n_types,
                     **row, **stats})
    for row in rows:
        first = next(r for r in rows if r["layout"] == row["layout"])
        row["relative"] = round(row["us_per_ticket"] / first["us_per_ticket"], 3)
    return rows


# -- memory ------------------------------------------------------------------------

# Run in a fresh interpreter that imports only what a simulate run needs, so the
# peak is that of the run, not of this benchmark's Ciw, SciPy and rich. The peak
# is VmHWM, the high-water mark of this process image: ru_maxrss would also keep
# the parent's size, inherited through fork and kept across exec on Linux.
_MEMORY_PROBE = """
import json, resource, sys, time, tracemalloc
from agents.heuristics import Fifo
from sim.metrics import summary_rows, ticket_table
from sim.model import SupportModel
from sim.scenario import parse_scenario

def peak_kb():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

request = json.load(sys.stdin)
scenario = parse_scenario(request["scenario"], "<speed>")
before_kb = peak_kb()
if request["trace"]:
    tracemalloc.start()
started = time.process_time()
model = SupportModel(scenario, request["seed"]).run(Fifo())
tickets = ticket_table(model)
summary_rows(model, tickets, "fifo")
seconds = time.process_time() - started
traced_peak = tracemalloc.get_traced_memory()[1] if request["trace"] else 0
print(json.dumps({"tickets": len(model.tickets), "seconds": seconds,
                  "rss_after_imports_kb": before_kb, "peak_rss_kb": peak_kb(),
                  "traced_peak_bytes": traced_peak}))
"""


def _probe(tickets: int, seed: int, trace: bool) -> dict[str, Any]:
    request = json.dumps({"scenario": support_day(tickets), "seed": seed, "trace": trace})
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE], input=request,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise click.ClickException(f"memory probe failed: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout)


def peak_memory(tickets: int, seed: int) -> dict[str, Any]:
    """Peak RSS of one day (simulate, ticket table, summary) and, separately, traced Python peak."""
    plain = _probe(tickets, seed, trace=False)
    traced = _probe(tickets, seed, trace=True)  # tracemalloc inflates RSS, so a second process
    peak_mb = plain["peak_rss_kb"] / 1024
    return {"tickets": plain["tickets"], "cpu_seconds": round(plain["seconds"], 3),
            "peak_rss_mb": round(peak_mb, 1),
            "rss_after_imports_mb": round(plain["rss_after_imports_kb"] / 1024, 1),
            "run_rss_growth_mb": round((plain["peak_rss_kb"] - plain["rss_after_imports_kb"])
                                       / 1024, 1),
            "tracemalloc_peak_mb": round(traced["traced_peak_bytes"] / 2**20, 1),
            "target_mb": MEMORY_TARGET_MB, "met": peak_mb < MEMORY_TARGET_MB}


# -- printing ----------------------------------------------------------------------


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=130)


def print_race(result: dict[str, Any], repeats: int) -> None:
    queue = result["queue"]
    erlang_c = queue["erlang_c_mean_wait_min"]
    table = Table(title=f"M/M/{queue['agents']} at load {queue['load']} "
                        f"({queue['arrivals_per_minute']:g}/min, handle "
                        f"{queue['handle_minutes']:g} min), best of {repeats}",
                  title_justify="left")
    for column in ("model", "tickets", "CPU s", "wall s", "tickets/s", "us/ticket",
                   "mean wait min", "95% CI +-", "vs Erlang C"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for m in result["models"]:
        wait, half = m["mean_wait_min"], m["mean_wait_ci95_half_width"]
        table.add_row(m["model"], f"{m['tickets']:,}", f"{m['best_cpu_seconds']:.2f}",
                      f"{m['wall_seconds_of_best']:.2f}",
                      f"{m['tickets_per_second']:,.0f}", f"{m['us_per_ticket']:.2f}",
                      f"{wait:.4f}" if wait is not None else "-",
                      f"{half:.4f}" if half is not None else "-",
                      f"{100 * (wait / erlang_c - 1):+.1f}%" if wait is not None else "-")
    table.add_row("Erlang C (theory)", "", "", "", "", "", f"{erlang_c:.4f}", "", "",
                  style="dim")
    console = _console()
    console.print(table)
    for name, ratio in result["ratios"].items():
        target = result["targets"].get(name)
        verdict = (f"  (target >= {target['target']:g}: "
                   f"{'met' if target['met'] else 'NOT met'})") if target else ""
        console.print(f"{name} = {ratio:.2f}{verdict}")
    console.print("rates from CPU time, best of the repeats; routelab's ticket table + summary "
                  f"take {result['routelab_summarise_cpu_seconds']:.3f} s of its time")
    for name, value in result["checks"].items():
        shown = f"{value:.2e}" if isinstance(value, float) and name.endswith("(min)") else value
        console.print(f"check: {name}: {shown}")


def print_scaling(agents: list[dict], types: list[dict]) -> None:
    console = _console()
    table = Table(title="routelab time per ticket vs agents (M/M/c, load 0.9, same tickets)",
                  title_justify="left")
    for column in ("agents", "tickets", "us/ticket", "us/ticket simulate only", "x 10 agents"):
        table.add_column(column, justify="right")
    for row in agents:
        table.add_row(str(row["agents"]), f"{row['tickets']:,}", f"{row['us_per_ticket']:.2f}",
                      f"{row['us_per_ticket_simulate_only']:.2f}", f"{row['relative']:.2f}")
    console.print(table)
    table = Table(title="routelab time per ticket vs ticket types (10 agents and load 0.9 per "
                        "type, same tickets)", title_justify="left")
    for column in ("types", "layout", "agents", "us/ticket", "us/ticket simulate only",
                   "x 1 type", "decisions with a choice", "pairs per choice"):
        table.add_column(column, justify="left" if column == "layout" else "right")
    for row in types:
        table.add_row(str(row["types"]), row["layout"], str(row["agents"]),
                      f"{row['us_per_ticket']:.2f}", f"{row['us_per_ticket_simulate_only']:.2f}",
                      f"{row['relative']:.2f}", f"{100 * row['share_with_a_choice']:.1f}%",
                      f"{row['pairs_per_choice']:.2f}",
                      end_section=row["types"] == types[-1]["types"])
    console.print(table)
    console.print("In the generalist layout an idle agent may serve every type, so a decision "
                  "legitimately compares every feasible (type, group) pair and a finishing agent "
                  "checks every queue: that work grows with the number of types by design.")


def print_memory(memory: dict[str, Any]) -> None:
    verdict = "met" if memory["met"] else "NOT met"
    _console().print(
        f"peak memory, one day of {memory['tickets']:,} tickets incl. ticket table: "
        f"{memory['peak_rss_mb']:.0f} MB peak RSS (target < {memory['target_mb']:.0f} MB: "
        f"{verdict}); {memory['rss_after_imports_mb']:.0f} MB after imports, "
        f"+{memory['run_rss_growth_mb']:.0f} MB for the run; tracemalloc peak "
        f"{memory['tracemalloc_peak_mb']:.0f} MB")


# -- the command -------------------------------------------------------------------


@click.command()
@click.option("--tickets", type=click.IntRange(min=2_000), default=None,
              help=f"Tickets per M/M/10 and per scaling run [default: {TICKETS}; "
                   f"{QUICK_TICKETS} with --quick].")
@click.option("--quick", is_flag=True,
              help="Small counts and one repeat: a smoke test, not a measurement.")
@click.option("--repeats", type=click.IntRange(min=1), default=None,
              help="Runs per measurement; the best is reported [default: 3; 1 with --quick].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every run.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the figures to this JSON file.")
def speed(tickets: int | None, quick: bool, repeats: int | None, seed: int,
          json_path: Path | None) -> None:
    """Benchmark the simulator against Ciw and SimPy on one M/M/10, and show how it scales.

    Reports tickets per second (from this process's CPU time, best of --repeats;
    wall time beside it, as other jobs may share the machine), the ratios
    routelab/Ciw and routelab/process-SimPy, time per ticket from 10 to 1,000
    agents and from 1 to 30 ticket types, and the peak memory of a 50,000-ticket day.
    """
    tickets = tickets or (QUICK_TICKETS if quick else TICKETS)
    repeats = repeats or (1 if quick else 3)
    started = time.perf_counter()
    load_before = os.getloadavg()
    result = {"race": race(tickets, seed, repeats)}
    print_race(result["race"], repeats)
    result["scaling_agents"] = scale_agents(
        QUICK_AGENT_COUNTS if quick else AGENT_COUNTS, tickets, seed, repeats)
    result["scaling_types"] = scale_types(
        QUICK_TYPE_COUNTS if quick else TYPE_COUNTS, tickets, seed, repeats)
    print_scaling(result["scaling_agents"], result["scaling_types"])
    result["memory"] = peak_memory(QUICK_DAY_TICKETS if quick else DAY_TICKETS, seed)
    print_memory(result["memory"])
    result["machine"] = {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "versions": {p: version(p) for p in ("routelab", "simpy", "ciw", "numpy", "pandas")},
    }
    result["settings"] = {"tickets": tickets, "repeats": repeats, "quick": quick, "seed": seed,
                          "wall_seconds": round(time.perf_counter() - started, 1)}
    if json_path is not None:
        try:
            write_json(result, json_path)
        except OSError as error:
            raise UserError(
                f"--json {json_path}: cannot write ({error.strerror or error})") from None
        click.echo(f"wrote {json_path}")
    if not result["race"]["checks"]["replays_agree"]:
        raise click.ClickException("the models disagree on replayed inputs: see the checks above")
