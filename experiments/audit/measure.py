"""Runs of a policy on seeds 0..N-1, as `routelab simulate` makes them, and what they measure.

Every run goes through experiments.runs.simulate_run, the function behind
`routelab simulate`, so a figure here equals that command's on the same
scenario file and seeds. A run keeps its summary rows, per-channel figures
and the occupancy of each agent group; nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from agents.parallel import Pool
from experiments.runs import simulate_run
from sim.metrics import ALL
from sim.model import ABANDONED, SERVED
from sim.scenario import Scenario


@dataclass(frozen=True)
class RunJob:
    scenario: Scenario
    policy_spec: str
    seed: int


def measure_runs(jobs: list[RunJob], workers: int) -> list[dict[str, Any]]:
    """Each job's compact result, in job order (the same numbers serial or parallel)."""
    with Pool(workers, len(jobs)) as pool:
        return pool.map(measure_run, jobs)


def measure_run(job: RunJob) -> dict[str, Any]:
    run = simulate_run(job.scenario, job.policy_spec, job.seed, force=True)
    return {"summary": run.summary.to_dict("records"),
            "channels": channel_rows(job.scenario, run.tickets),
            "agents": occupancy_rows(job.scenario, run.agents)}


def channel_rows(scenario: Scenario, tickets: pd.DataFrame) -> list[dict[str, Any]]:
    """Per channel: counted tickets, service level (types with an SLA), waits, abandonment.

    The channel's target is the mean of its types' targets weighted by their
    counted tickets (types without a target left out).
    """
    counted = tickets[tickets["counted"].to_numpy()]
    specs = scenario.ticket_types
    rows = []
    for channel in dict.fromkeys(s.channel for s in specs.values()):
        names = [n for n, s in specs.items() if s.channel == channel]
        part = counted[counted["ticket_type"].astype(str).isin(names).to_numpy()]
        kinds = part["ticket_type"].astype(str).to_numpy()
        outcome = part["outcome"].cat.codes.to_numpy()
        wait = part["wait_min"].to_numpy()
        limit = np.array([specs[k].sla_minutes or math.inf for k in kinds])
        with_sla = np.isfinite(limit)
        answered_or_left = (outcome == SERVED) | (outcome == ABANDONED)
        waits = wait[answered_or_left]
        targeted = [(specs[n].sla_target, int(np.sum(kinds == n))) for n in names
                    if specs[n].sla_target is not None and specs[n].sla_minutes is not None]
        weight = sum(c for _, c in targeted)
        rows.append({
            "channel": channel, "ticket_types": names, "arrived": int(len(part)),
            "met": int(np.sum((outcome == SERVED) & (wait <= limit) & with_sla)),
            "with_sla": int(np.sum(with_sla)),
            "sla_target": round(sum(t * c for t, c in targeted) / weight, 10) if weight else None,
            "mean_wait_min": float(waits.mean()) if len(waits) else math.nan,
            "p95_wait_min": float(np.percentile(waits, 95)) if len(waits) else math.nan,
            "abandon_rate": float(np.mean(outcome == ABANDONED)) if len(part) else math.nan,
        })
    return rows


def occupancy_rows(scenario: Scenario, agents: pd.DataFrame) -> list[dict[str, Any]]:
    """Busy and scheduled agent-hours of each group over the counted hours."""
    within = agents[(agents["hour"] >= math.floor(scenario.warmup_hours))
                    & (agents["hour"] < math.ceil(scenario.horizon_hours))]
    totals = within.groupby("agent_group", sort=False, observed=True)[
        ["busy_agents", "agents_scheduled"]].sum()
    return [{"group": str(g), "busy_hours": float(r.busy_agents),
             "scheduled_hours": float(r.agents_scheduled)} for g, r in totals.iterrows()]


# -- means over seeds ----------------------------------------------------------------------


def type_means(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Per ticket type (and ALL): mean over seeds of every summary column."""
    rows = pd.DataFrame([r for result in results for r in result["summary"]])
    numeric = ["arrived", "abandon_rate", "mean_wait_min", "p95_wait_min", "service_level",
               "cost_per_hour"]
    means = rows.groupby("ticket_type", sort=False)[numeric].mean()
    firsts = rows.groupby("ticket_type", sort=False)[["sla_minutes", "sla_target"]].first()
    return means.join(firsts)


def cost_of(results: list[dict[str, Any]]) -> list[float]:
    """cost_per_hour of each seed (the ALL row), in seed order."""
    return [next(r["cost_per_hour"] for r in result["summary"] if r["ticket_type"] == ALL)
            for result in results]


def channel_means(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    frame = pd.DataFrame([dict(r, seed=i) for i, result in enumerate(results)
                          for r in result["channels"]])
    frame["service_level"] = frame["met"] / frame["with_sla"].where(frame["with_sla"] > 0)
    rows = []
    for channel, part in frame.groupby("channel", sort=False):
        target = part["sla_target"].dropna()
        level = float(part["service_level"].mean())
        goal = float(target.mean()) if len(target) else None
        rows.append({"channel": channel, "ticket_types": part["ticket_types"].iloc[0],
                     "service_level": _plain(level), "sla_target": goal,
                     "shortfall": _shortfall(level, goal),
                     "mean_wait_min": _plain(part["mean_wait_min"].mean()),
                     "p95_wait_min": _plain(part["p95_wait_min"].mean()),
                     "abandon_rate": _plain(part["abandon_rate"].mean())})
    return rows


def occupancy_means(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    frame = pd.DataFrame([r for result in results for r in result["agents"]])
    totals = frame.groupby("group", sort=False)[["busy_hours", "scheduled_hours"]].sum()
    return [{"group": g, "occupancy": _plain(r.busy_hours / r.scheduled_hours
                                             if r.scheduled_hours else math.nan)}
            for g, r in totals.iterrows()]


def _shortfall(level: float, target: float | None) -> float | None:
    if target is None or math.isnan(level):
        return None if target is None else 0.0
    return max(0.0, target - level)


def _plain(value: float) -> float | None:
    """A JSON-ready float (NaN becomes None)."""
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value
