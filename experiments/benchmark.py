"""`routelab benchmark`: every policy on every scenario over seeds, with intervals.

Parse, check every scenario and policy, build the (scenario, policy, seed)
grid, hand it to the runner, then turn the job files into the tables, plots
and report in the output folder. The job function keeps only compact
aggregates of a run (summary rows, hourly series, a wait histogram), never
the tickets.
"""

from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from agents.errors import PolicyError
from agents.heuristics import HEURISTICS
from agents.registry import make_policy, policy_label
from experiments.errors import UserError
from experiments.hourly import service_series, varies_by_hour
from experiments.io import write_csv, write_json
from experiments.runner import Job, Outcome, Runner, load_record
from experiments.stats import comparison_table
from experiments.terminal import warn_if_few_seeds
from sim.metrics import ALL, SUMMARY_COLUMNS
from sim.model import SERVED
from sim.scenario import Scenario, load_scenario

# Upper edges (minutes) of the wait histogram; the scenario's SLA limits are
# added so the curve passes exactly through each service level.
WAIT_EDGES_MIN = (0.0, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180,
                  240, 360, 480, 720, 1440)
GROUP_SERIES = ("utilisation",)


@dataclass(frozen=True)
class SimulationJob:
    """The payload of one run; the validated scenario travels with it."""

    scenario: Scenario
    policy_spec: str
    label: str
    seed: int


# -- the grid ------------------------------------------------------------------------


def load_scenarios(names: tuple[str, ...] | list[str]) -> list[Scenario]:
    if not names:
        raise UserError("SCENARIO: give at least one scenario")
    scenarios = [load_scenario(n) for n in names]
    seen = [s.name for s in scenarios]
    for name in seen:
        if seen.count(name) > 1:
            raise UserError(f"SCENARIO: scenario {name!r} given twice")
    return scenarios


def parse_policies(text: str | None, scenarios: list[Scenario],
                   option: str = "--policies") -> list[str]:
    """Policy specs from a comma list (default: every heuristic), each checked on every scenario."""
    specs = [p.strip() for p in text.split(",")] if text else list(HEURISTICS)
    if not all(specs):
        raise UserError(f"{option}: empty policy name in {text!r}")
    for spec in specs:
        applies_to = [s for s in scenarios if not_applicable(spec, s) is None]
        if not applies_to:
            raise PolicyError(f"{option}: {spec}: {not_applicable(spec, scenarios[0])}")
        for scenario in applies_to:
            try:
                make_policy(spec, scenario)
            except PolicyError as error:
                message = str(error).removeprefix("--policy: ")
                raise PolicyError(f"{option}: {message}") from None
            except ImportError as error:  # a policy kind whose module is not installed
                raise PolicyError(f"{option}: {spec}: not available ({error})") from None
    labels = [policy_label(s) for s in specs]
    for label in labels:
        if labels.count(label) > 1:
            raise UserError(f"{option}: two policies share the name {label!r}")
    return specs


def not_applicable(spec: str, scenario: Scenario) -> str | None:
    """Why a policy is left out on a scenario (only `optimal`, outside the solver's reach)."""
    if spec != "optimal":
        return None
    from agents.exact.solver import check_solvable

    try:
        check_solvable(scenario)
    except PolicyError as error:
        return str(error)
    return None


def policy_fingerprint(spec: str) -> str:
    """Heuristics are named by code; a model or table file by its content."""
    kind, _, path = spec.partition(":")
    if not path:
        return spec
    from hashlib import sha256

    target = Path(path)
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
    digest = sha256()
    for file in files:
        digest.update(file.read_bytes())
    return f"{kind}:{digest.hexdigest()[:16]}"


def simulation_jobs(scenarios: list[Scenario], specs: list[str], seeds: list[int]) -> list[Job]:
    jobs = []
    for scenario in scenarios:
        scenario_hash = scenario.sha256()[:16]
        for spec in specs:
            if not_applicable(spec, scenario) is not None:
                continue  # e.g. optimal on a scenario too big for the exact solver
            label, fingerprint = policy_label(spec), policy_fingerprint(spec)
            for seed in seeds:
                jobs.append(Job(key=f"{scenario.name}/{label}/seed-{seed:04d}",
                                payload=SimulationJob(scenario, spec, label, seed),
                                fingerprint=f"{scenario_hash}/{fingerprint}"))
    return jobs


# -- one job, in a worker -------------------------------------------------------------


def run_simulation(job: SimulationJob) -> dict[str, Any]:
    """Simulate one run and keep its compact aggregates (JSON-ready)."""
    from experiments.runs import simulate_run

    run = simulate_run(job.scenario, job.policy_spec, job.seed, label=job.label)
    scenario, tickets = job.scenario, run.tickets
    return {
        "summary": _columns(run.summary),
        "hourly": _columns(pd.concat([_type_series(scenario, tickets),
                                      _group_series(scenario, run.agents),
                                      service_series(scenario, tickets)], ignore_index=True)),
        "waits": _columns(_wait_histogram(scenario, tickets)),
        "decisions": run.decisions,
        "sim_seconds": round(run.wall_seconds, 4),
    }


def _hours(scenario: Scenario) -> np.ndarray:
    return np.arange(math.ceil(scenario.horizon_hours))


def _type_series(scenario: Scenario, tickets: pd.DataFrame) -> pd.DataFrame:
    """Time-average queue length by hour, per ticket type."""
    hours = _hours(scenario)
    edges = np.append(hours, len(hours)) * 60.0
    frames = []
    for index, name in enumerate(scenario.type_names):
        mine = tickets[tickets["ticket_type"].cat.codes.to_numpy() == index]
        arrival = mine["arrival_min"].to_numpy()
        left_queue = np.where(np.isfinite(mine["start_min"]), mine["start_min"], mine["end_min"])
        left_queue = np.where(np.isfinite(left_queue), left_queue, np.inf)
        queue_minutes = np.diff(_time_below(arrival, edges) - _time_below(left_queue, edges))
        frames.append(pd.DataFrame({"series": "queue_length", "name": name, "hour": hours,
                                    "value": queue_minutes / 60.0}))
    return pd.concat(frames, ignore_index=True)


def _time_below(points: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each x in `at`: sum over points p < x of (x - p) (time since each point)."""
    points = np.sort(points[np.isfinite(points)])
    before = np.searchsorted(points, at)
    prefix = np.concatenate(([0.0], np.cumsum(points)))
    return at * before - prefix[before]


def _group_series(scenario: Scenario, agents: pd.DataFrame) -> pd.DataFrame:
    within = agents[agents["hour"] < len(_hours(scenario))]
    long = within.melt(id_vars=["agent_group", "hour"], value_vars=list(GROUP_SERIES),
                       var_name="series", value_name="value")
    return long.rename(columns={"agent_group": "name"})[["series", "name", "hour", "value"]]


def wait_edges(scenario: Scenario) -> np.ndarray:
    slas = [t.sla_minutes for t in scenario.ticket_types.values() if t.sla_minutes is not None]
    return np.unique(np.array([*WAIT_EDGES_MIN, *slas], dtype=float))


def _wait_histogram(scenario: Scenario, tickets: pd.DataFrame) -> pd.DataFrame:
    """Counted, answered tickets by time to answer: bin i holds waits in (edge[i-1], edge[i]]."""
    edges = wait_edges(scenario)
    answered = tickets[tickets["counted"].to_numpy()
                       & (tickets["outcome"].cat.codes.to_numpy() == SERVED)]
    frames = []
    for index, name in enumerate(scenario.type_names):
        mine = answered["ticket_type"].cat.codes.to_numpy() == index
        waits = answered["wait_min"].to_numpy()[mine]
        bins = np.searchsorted(edges, waits, side="left")
        counts = np.bincount(bins, minlength=len(edges) + 1)
        frames.append(pd.DataFrame({"ticket_type": name,
                                    "upper_min": np.append(edges, np.inf),
                                    "answered": counts.astype(int)}))
    return pd.concat(frames, ignore_index=True)


def _columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """A frame as {column: values}; NaN and infinities become None (strict JSON)."""
    return {str(name): [_plain(v) for v in frame[name].tolist()] for name in frame.columns}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- from job files to tables ---------------------------------------------------------


def collect(jobs_dir: Path, jobs: list[Job]) -> dict[str, pd.DataFrame]:
    """The per-run frames of every finished job, in grid order."""
    parts: dict[str, list[pd.DataFrame]] = {"summary": [], "hourly": [], "waits": []}
    for job in jobs:
        record = load_record(jobs_dir, job)
        if record is None:
            continue
        run: SimulationJob = job.payload
        for name in parts:
            frame = pd.DataFrame(record["result"][name])
            if name != "summary":
                frame.insert(0, "seed", run.seed)
                frame.insert(0, "policy", run.label)
                frame.insert(0, "scenario", run.scenario.name)
            parts[name].append(frame)
    return {name: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            for name, frames in parts.items()}


def write_tables(out: Path, collected: dict[str, pd.DataFrame], scenarios: list[Scenario],
                 heuristics: frozenset[str] = frozenset(HEURISTICS)) -> pd.DataFrame:
    """runs.csv, by_type.csv, comparison.csv, hourly.csv, waits.csv, scenarios.json."""
    # JSON has no NaN or infinity: they were stored as null.
    summary = collected["summary"][SUMMARY_COLUMNS].copy()
    counts = ("seed", "arrived", "served", "abandoned", "unresolved")
    for column in SUMMARY_COLUMNS[2:]:
        if column != "ticket_type":
            summary[column] = pd.to_numeric(summary[column]).astype(
                int if column in counts else float)
    collected["hourly"]["value"] = pd.to_numeric(collected["hourly"]["value"]).astype(float)
    collected["waits"]["upper_min"] = pd.to_numeric(
        collected["waits"]["upper_min"]).astype(float).fillna(np.inf)
    is_all = summary["ticket_type"] == ALL
    runs = summary[is_all].reset_index(drop=True)
    comparison = comparison_table(runs, heuristics)
    keys = ["scenario", "policy", "series", "name", "hour"]
    hourly = collected["hourly"].groupby(keys, sort=False)["value"].mean().reset_index()
    varying = [s.name for s in scenarios if varies_by_hour(s.content())]
    hourly = hourly[hourly["scenario"].isin(varying)].reset_index(drop=True)
    hourly["value"] = hourly["value"].map(lambda v: float(f"{v:.4g}"))  # for plots only
    waits = collected["waits"].groupby(["scenario", "policy", "ticket_type", "upper_min"],
                                       sort=False)["answered"].sum().reset_index()
    counted = summary[~is_all].groupby(["scenario", "policy", "ticket_type"], sort=False)[
        "arrived"].sum().rename("counted").reset_index()
    waits = waits.merge(counted, on=["scenario", "policy", "ticket_type"], how="left")
    write_csv(runs, out / "runs.csv")
    write_csv(summary[~is_all], out / "by_type.csv")
    write_csv(comparison, out / "comparison.csv")
    write_csv(hourly, out / "hourly.csv")
    write_csv(waits, out / "waits.csv")
    write_json({s.name: s.content() for s in scenarios}, out / "scenarios.json")
    return comparison


def finish(out: Path, jobs_dir: Path, jobs: list[Job], scenarios: list[Scenario],
           outcome: Outcome, manifest: dict[str, Any], quiet: bool) -> None:
    """Tables, report and manifest from the job files; failures reported, exit 1 if any."""
    collected = collect(jobs_dir, jobs)
    if collected["summary"].empty:
        _report_failures(out, outcome)
        raise click.ClickException("no job finished; nothing to compare")
    comparison = write_tables(out, collected, scenarios)
    write_json({**manifest, "jobs": len(jobs), "ran": len(outcome.ran),
                "skipped": len(outcome.skipped), "failed": [f.key for f in outcome.failed],
                "wall_seconds": round(outcome.wall_seconds, 3),
                "job_seconds": round(outcome.job_seconds, 3),
                "startup_seconds": round(outcome.startup_seconds, 3),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, out / "manifest.json")
    from experiments.report import build_report

    build_report(out)  # after the manifest: the report names the version that made it
    if not quiet:
        print_comparison(comparison)
        warn_if_few_seeds(int(comparison["n_seeds"].min()))
        click.echo(f"{len(outcome.ran)} job(s) ran, {len(outcome.skipped)} already done, "
                   f"{len(outcome.failed)} failed in {outcome.wall_seconds:.1f} s; "
                   f"wrote {out}/ (runs.csv, comparison.csv, plots/, report.html)")
    _report_failures(out, outcome)


def _report_failures(out: Path, outcome: Outcome) -> None:
    if not outcome.failed:
        (out / "failed_jobs.json").unlink(missing_ok=True)
        return
    write_json([{"key": f.key, "error": f.error, "attempts": f.attempts, "traceback": f.detail}
                for f in outcome.failed], out / "failed_jobs.json")
    for failure in outcome.failed:
        click.echo(f"failed: {failure.key} after {failure.attempts} attempts: {failure.error}",
                   err=True)
    raise click.ClickException(f"{len(outcome.failed)} job(s) failed; see "
                               f"{out / 'failed_jobs.json'}; a rerun retries them and keeps "
                               "the rest")


def print_comparison(comparison: pd.DataFrame) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="cost per hour (95% CI) and paired difference against the best heuristic",
                  title_justify="left")
    for column in ("scenario", "policy", "cost/h", "95% CI", "vs best", "95% CI ", "SLA met",
                   "abandoned"):
        table.add_column(column, justify="left" if column in ("scenario", "policy") else "right")
    for row in comparison.itertuples():
        table.add_row(row.scenario, row.policy, f"{row.cost_per_hour:,.1f}",
                      _span(row.cost_per_hour_ci_low, row.cost_per_hour_ci_high),
                      f"{row.cost_diff_vs_best:+,.1f}" if pd.notna(row.cost_diff_vs_best) else "-",
                      _span(row.cost_diff_ci_low, row.cost_diff_ci_high),
                      _percent(row.service_level), _percent(row.abandon_rate))
    Console(width=140).print(table)


def _span(low: float, high: float) -> str:
    return "-" if pd.isna(low) else f"[{low:,.1f}, {high:,.1f}]"


def _percent(value: float) -> str:
    return "-" if pd.isna(value) else f"{100 * value:.1f}%"


def runner_manifest(backend: str, workers: int | None, address: str | None) -> dict[str, Any]:
    return {"backend": backend, "workers": workers, "address": address,
            "routelab_version": version("routelab"), "python": platform.python_version()}


# -- the command ------------------------------------------------------------------------


def run(scenarios: tuple[str, ...], policies: str | None, seeds: int, backend: str,
              address: str | None, workers: int | None, out: Path | None,
              jobs_dir: Path | None, quiet: bool) -> None:
    """The work of `routelab benchmark`; its options and help: experiments/commands/benchmark.py."""
    specs_of_scenarios = load_scenarios(scenarios)
    specs = parse_policies(policies, specs_of_scenarios)
    if address and backend != "ray":
        raise UserError("--address: only with --backend ray")
    out = out or Path("results/runs/benchmark") / "+".join(s.name for s in specs_of_scenarios)
    jobs_dir = jobs_dir or out / "jobs"
    for spec in specs:
        for scenario in specs_of_scenarios:
            if (reason := not_applicable(spec, scenario)) is not None:
                click.echo(f"note: {spec} left out: {reason}", err=True)
    jobs = simulation_jobs(specs_of_scenarios, specs, list(range(seeds)))
    runner = Runner(jobs_dir, backend=backend, workers=workers, address=address,
                    progress=not quiet, description="benchmark")
    outcome = runner.run(jobs, run_simulation)
    manifest = {"command": "benchmark",
                "scenarios": {s.name: s.sha256() for s in specs_of_scenarios},
                "policies": specs, "seeds": list(range(seeds)),
                **runner_manifest(backend, workers, address)}
    finish(out, jobs_dir, jobs, specs_of_scenarios, outcome, manifest, quiet)
