"""`routelab audit`: the work behind the command (options: experiments/commands/audit.py)."""

from __future__ import annotations

import math
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
import pandas as pd

from agents.errors import PolicyError
from agents.heuristics import HEURISTICS
from agents.registry import make_policy
from experiments.audit import explain
from experiments.audit.measure import (
    RunJob,
    channel_means,
    cost_of,
    measure_runs,
    occupancy_means,
    type_means,
)
from experiments.audit.stresses import STRESSES, stressed, write_scenario
from experiments.errors import UserError
from experiments.recommend import standings, targets_of
from sim.atomic import write_json, write_text
from sim.intervals import paired_interval
from sim.metrics import ALL
from sim.scenario import Scenario, load_scenario
from sim.seeds import evaluation_seeds

NOMINAL = "nominal"
RECORDED_DAYS = 2  # days whose decisions are watched for transparency


def run(policy_spec: str, scenario: str, seeds: int, baseline: str | None, out: Path,
        workers: int, quiet: bool) -> None:
    spec = load_scenario(scenario)
    if policy_spec == "optimal":
        raise UserError("POLICY: optimal is solved anew for every scenario, so a stressed day "
                        "would get its own optimum; export it first (routelab export optimal "
                        "--scenario S --out FILE.json) and audit table:FILE.json")
    make_policy(policy_spec, spec)  # fail fast: unknown policy, or tuned for another scenario
    if baseline is not None and baseline not in HEURISTICS:
        raise PolicyError(f"--baseline: unknown heuristic {baseline!r} "
                          f"(known: {', '.join(HEURISTICS)})")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} is a file, not a folder")
    started = time.perf_counter()
    days = evaluation_seeds(seeds)
    targets = targets_of(spec.content())
    if baseline is None:
        baseline = _best_heuristic(spec, days, targets, workers)
        _say(quiet, f"baseline: {baseline} (the heuristic the report would recommend)")
    scenarios = {NOMINAL: (spec, "the scenario as it is")}
    for name in STRESSES:
        scenarios[name] = stressed(spec, name)
    jobs = [RunJob(s, p, seed) for s, _ in scenarios.values() for p in (policy_spec, baseline)
            for seed in days]
    _say(quiet, f"auditing {policy_spec} on {spec.name}: {len(jobs)} runs "
                f"({len(scenarios)} versions x 2 policies x {seeds} seeds) ...")
    results = measure_runs(jobs, workers)
    per = {}
    for i, name in enumerate(scenarios):
        block = results[2 * seeds * i: 2 * seeds * (i + 1)]
        per[name] = (block[:seeds], block[seeds:])
    files = _write_stresses(scenarios, out, policy_spec, seeds)
    _say(quiet, f"watching {min(seeds, RECORDED_DAYS)} day(s) of decisions beside {baseline} ...")
    decisions = explain.record(spec, policy_spec, baseline, days[:RECORDED_DAYS])
    audit = {
        "scenario": spec.name, "policy": policy_spec, "baseline_policy": baseline,
        "seeds": days,
        "fairness": fairness(spec, *per[NOMINAL], targets),
        "robustness": robustness(spec, per, scenarios, files, targets),
        "transparency": {"definition": explain.definition(spec, policy_spec),
                         "recorded_days": days[:RECORDED_DAYS],
                         **explain.behaviour(spec, decisions, baseline)},
    }
    audit["stress_summary"] = stress_summary(audit, targets)
    audit["manifest"] = {"scenario_sha256": spec.sha256(), "routelab_version": version("routelab"),
                         "wall_seconds": round(time.perf_counter() - started, 1),
                         "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                         "rerun": [f"routelab simulate {out / f} --policy {policy_spec} "
                                   f"--seeds {seeds} --force" for f in files.values()]}
    write_json(_clean(audit), out / "audit.json")
    from experiments.audit.page import render

    write_text(render(audit, spec.content()), out / "audit.html")
    _say(quiet, f"wrote {out}/ (audit.json, audit.html, {len(files)} stressed scenarios) in "
                f"{time.perf_counter() - started:.0f} s")


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        click.echo(text)


def _best_heuristic(spec: Scenario, days: list[int], targets: dict[str, float],
                    workers: int) -> str:
    names = [n for n in HEURISTICS if n != "random"]
    results = measure_runs([RunJob(spec, n, s) for n in names for s in days], workers)
    frames, costs = [], {}
    for k, name in enumerate(names):
        block = results[k * len(days):(k + 1) * len(days)]
        costs[name] = sum(cost_of(block)) / len(days)
        frames += [dict(r, policy=name) for result in block for r in result["summary"]]
    by_type = pd.DataFrame(frames)
    return standings(costs, by_type[by_type["ticket_type"] != ALL], targets)[0].policy


def _write_stresses(scenarios: dict, out: Path, policy_spec: str, seeds: int) -> dict[str, str]:
    files = {}
    for name, (scenario, _what) in scenarios.items():
        if name == NOMINAL:
            continue
        file = f"stress-{name}.yaml"
        note = (f"{scenario.description}\nWritten by routelab audit. Rerun it with\n"
                f"  routelab simulate {file} --policy {policy_spec} --seeds {seeds} --force\n"
                "(--force: a rule, table or model made for the unstressed scenario).")
        write_scenario(scenario, out / file, note)
        files[name] = file
    return files


def fairness(spec: Scenario, policy_runs: list, baseline_runs: list,
             targets: dict[str, float]) -> dict[str, Any]:
    means, base = type_means(policy_runs), type_means(baseline_runs)
    rows = []
    for name in spec.type_names:
        row, sla = means.loc[name], spec.ticket_types[name].sla_minutes
        target = targets.get(name)
        rows.append({
            "ticket_type": name, "channel": spec.ticket_types[name].channel,
            "service_level": _f(row.service_level), "sla_target": target,
            "shortfall": _short(row.service_level, target),
            "mean_wait_min": _f(row.mean_wait_min), "p95_wait_min": _f(row.p95_wait_min),
            "abandon_rate": _f(row.abandon_rate), "arrived_per_day": _f(row.arrived),
            "sla_minutes": sla,
            "p95_wait_over_sla": _f(row.p95_wait_min / sla) if sla else None,
            "baseline_service_level": _f(base.loc[name].service_level)})
    agents = occupancy_means(policy_runs)
    return {"by_type": rows, "by_channel": channel_means(policy_runs), "agents": agents,
            "cost_per_hour": _f(means.loc[ALL].cost_per_hour),
            "baseline_cost_per_hour": _f(base.loc[ALL].cost_per_hour),
            "total_shortfall": sum(r["shortfall"] or 0.0 for r in rows),
            "baseline_total_shortfall": _total(base, targets),
            "worst_served": worst_served(rows),
            "wait_spread": wait_spread(rows),
            "occupancy_spread": _spread([a["occupancy"] for a in agents])}


def worst_served(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The largest shortfall; with none, the smallest margin above target; with no target,
    the longest 95th-percentile wait against the type's SLA."""
    targeted = [r for r in rows if r["sla_target"] is not None and r["service_level"] is not None]
    if targeted:
        row = min(targeted, key=lambda r: (-r["shortfall"], r["service_level"] - r["sla_target"]))
        reason = (f"{100 * row['shortfall']:.1f} points short of its target "
                  f"({row['service_level']:.1%} against {row['sla_target']:.0%})"
                  if row["shortfall"] else
                  f"the smallest margin above its target ({row['service_level']:.1%} against "
                  f"{row['sla_target']:.0%})")
        return {"ticket_type": row["ticket_type"], "reason": reason}
    timed = [r for r in rows if r["p95_wait_over_sla"] is not None]
    if not timed:
        return None
    row = max(timed, key=lambda r: r["p95_wait_over_sla"])
    return {"ticket_type": row["ticket_type"],
            "reason": f"95% wait {row['p95_wait_over_sla']:.1f} x its SLA"}


def wait_spread(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """95th-percentile waits in units of each type's SLA: who waits longest for their SLA."""
    timed = {r["ticket_type"]: r["p95_wait_over_sla"] for r in rows
             if r["p95_wait_over_sla"] is not None}
    if not timed:
        return None
    high, low = max(timed, key=timed.get), min(timed, key=timed.get)
    return {"p95_wait_over_sla": timed, "highest": high, "lowest": low,
            "range": timed[high] - timed[low]}


def robustness(spec: Scenario, per: dict, scenarios: dict, files: dict[str, str],
               targets: dict[str, float]) -> list[dict[str, Any]]:
    nominal = type_means(per[NOMINAL][0])
    rows = []
    for name in STRESSES:
        mine, theirs = per[name]
        means, base = type_means(mine), type_means(theirs)
        diff, _ = paired_interval(cost_of(mine), cost_of(theirs))
        by_type, broken = [], []
        for t in spec.type_names:
            level, target = means.loc[t].service_level, targets.get(t)
            short = _short(level, target)
            if target is not None and short and not _short(nominal.loc[t].service_level, target):
                broken.append(t)
            by_type.append({"ticket_type": t, "service_level": _f(level), "sla_target": target,
                            "shortfall": short, "abandon_rate": _f(means.loc[t].abandon_rate),
                            "baseline_service_level": _f(base.loc[t].service_level)})
        rows.append({"stress": name, "description": scenarios[name][1],
                     "scenario_file": files[name],
                     "policy_cost_per_hour": _f(means.loc[ALL].cost_per_hour),
                     "baseline_cost_per_hour": _f(base.loc[ALL].cost_per_hour),
                     "cost_diff": _f(diff.mean), "cost_diff_ci95": [_f(diff.low), _f(diff.high)],
                     "policy_total_shortfall": _total(means, targets),
                     "baseline_total_shortfall": _total(base, targets),
                     "by_type": by_type, "newly_missed": broken})
    return rows


def stress_summary(audit: dict[str, Any], targets: dict[str, float]) -> dict[str, Any]:
    """Which targets break first: those already missed, then by the mildest stress (the
    one with the least total shortfall) under which each type misses its target."""
    fair = {r["ticket_type"]: r for r in audit["fairness"]["by_type"]}
    order = sorted(audit["robustness"], key=lambda r: r["policy_total_shortfall"])
    first = []
    for t in targets:
        if fair[t]["shortfall"]:
            first.append({"ticket_type": t, "stress": NOMINAL,
                          "service_level": fair[t]["service_level"], "sla_target": targets[t]})
            continue
        for row in order:
            cell = next(c for c in row["by_type"] if c["ticket_type"] == t)
            if cell["shortfall"]:
                first.append({"ticket_type": t, "stress": row["stress"],
                              "service_level": cell["service_level"],
                              "sla_target": targets[t]})
                break
    stages = [NOMINAL] + [r["stress"] for r in order]
    first.sort(key=lambda r: stages.index(r["stress"]))
    holds = [t for t in targets if t not in {r["ticket_type"] for r in first}]
    return {"breaks_first": first, "never_broken": holds,
            "mildest_to_harshest": [r["stress"] for r in order]}


def _short(level: float, target: float | None) -> float | None:
    if target is None:
        return None
    return 0.0 if math.isnan(level) or level >= target - 1e-9 else float(target - level)


def _total(means: pd.DataFrame, targets: dict[str, float]) -> float:
    return float(sum(_short(means.loc[t].service_level, g) or 0.0 for t, g in targets.items()))


def _spread(values: list[float | None]) -> dict[str, float] | None:
    finite = [v for v in values if v is not None]
    if not finite:
        return None
    return {"min": min(finite), "max": max(finite), "range": max(finite) - min(finite)}


def _f(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _clean(value: Any) -> Any:
    """Strict JSON: NaN and infinities become null; numbers keep every digit (a stress's
    figures equal `routelab simulate`'s exactly)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    return value
