"""How routelab's time per ticket grows with agents and ticket types, and a day's peak memory.

These run in this process (CPU time, best of the repeats, taken in rounds so a
busy spell on the machine does not land on one point): simulate under FIFO,
then build the ticket table and the summary rows, as `routelab simulate` does
before writing its files.
"""

from __future__ import annotations

import gc
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import click

from agents.heuristics import Fifo
from benchmarks.baselines import HANDLE_MINUTES, LOAD, Queue, mmc_data
from sim.metrics import summary_rows, ticket_table
from sim.model import SupportModel
from sim.scenario import Scenario, parse_scenario

AGENTS_PER_TYPE = 10
LAYOUTS = ("dedicated", "generalist")
DECISION_STATS_TICKETS = 50_000


@dataclass(frozen=True)
class Lap:
    simulate: float  # CPU seconds of the simulation
    total: float  # and with the ticket table and the summary rows


def mmc_scenario(agents: int, tickets: int) -> Scenario:
    """M/M/c at load 0.9, handle 1 minute, long enough for about `tickets` arrivals."""
    return parse_scenario(mmc_data(Queue(agents, tickets)), "<speed>")


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


def run_routelab(scenario: Scenario, seed: int) -> tuple[Lap, int, int]:
    """One FIFO day and its tables: CPU seconds, tickets and decisions."""
    gc.collect()  # garbage left by the previous run is not this run's cost
    started = time.process_time()
    model = SupportModel(scenario, seed).run(Fifo())
    simulated = time.process_time() - started
    summary_rows(model, ticket_table(model), "fifo")
    lap = Lap(simulated, time.process_time() - started)
    return lap, len(model.tickets), model.decisions


def best_routelab(scenarios: list[Scenario], seed: int, repeats: int,
                  label: str) -> list[dict[str, Any]]:
    """Best-of-`repeats` time per ticket of each scenario, the repeats taken in rounds."""
    laps: list[list[Lap]] = [[] for _ in scenarios]
    counts: list[tuple[int, int]] = [(0, 0)] * len(scenarios)
    for round_ in range(repeats):
        for i, scenario in enumerate(scenarios):
            lap, tickets, decisions = run_routelab(scenario, seed)
            laps[i].append(lap)
            counts[i] = (tickets, decisions)
        click.echo(f"speed: {label} round {round_ + 1}/{repeats} done", err=True)
    rows = []
    for point, (tickets, decisions) in zip(laps, counts, strict=True):
        total, simulate = min(lap.total for lap in point), min(lap.simulate for lap in point)
        rows.append({"tickets": tickets, "decisions_per_ticket": round(decisions / tickets, 4),
                     "us_per_ticket": round(1e6 * total / tickets, 3),
                     "us_per_ticket_simulate_only": round(1e6 * simulate / tickets, 3),
                     "best_cpu_seconds": round(total, 4)})
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
    return {"tickets": plain["tickets"], "cpu_seconds": round(plain["seconds"], 3),
            "peak_rss_mb": round(plain["peak_rss_kb"] / 1024, 1),
            "rss_after_imports_mb": round(plain["rss_after_imports_kb"] / 1024, 1),
            "run_rss_growth_mb": round((plain["peak_rss_kb"] - plain["rss_after_imports_kb"])
                                       / 1024, 1),
            "tracemalloc_peak_mb": round(traced["traced_peak_bytes"] / 2**20, 1)}
