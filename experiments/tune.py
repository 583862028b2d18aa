"""`routelab tune`: tune the index rule on training days, judge it on evaluation seeds, write it."""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

from agents.evaluation import simulated_days
from agents.heuristics import HEURISTICS
from agents.index.rule import rule_document
from agents.index.tune import rule_days, tune_index
from agents.progress import PlannedBar
from agents.sla import mean_levels, sla_targets, total_shortfall
from experiments.errors import UserError
from sim.atomic import write_json
from sim.intervals import paired_interval
from sim.scenario import load_scenario
from sim.seeds import evaluation_seeds, training_days

JUDGED = tuple(name for name in HEURISTICS if name != "random")


def run(scenario: str, out: Path, seeds: int, days: int, seed: int, reservations: bool,
        workers: int, force: bool, quiet: bool, objective: str = "cost") -> None:
    spec = load_scenario(scenario)
    if out.exists() and not force:
        raise UserError(f"--out: {out} exists; pass --force to replace it")
    targets = sla_targets(spec)
    if objective == "sla" and not any(t is not None for t in targets):
        click.echo(f"note: {spec.name} has no sla_target: tuning for cost", err=True)
    started = time.perf_counter()
    bar = PlannedBar(f"tuning {spec.name} ({objective}) on {days} training days", disable=quiet)
    try:
        tuned = tune_index(spec, training_days(seed + 1, days), workers=workers,
                           reservations=reservations, progress=bar, objective=objective)
    finally:
        bar.close()
    rule = tuned.rule
    evaluation = evaluation_seeds(seeds)
    heuristics = simulated_days(spec, evaluation, JUDGED)
    rule_results = rule_days(spec, rule, evaluation)
    rule_costs = [d.cost_per_hour for d in rule_results]
    cheapest = min(heuristics, key=lambda n: np.mean([d.cost_per_hour for d in heuristics[n]]))
    best_costs = [d.cost_per_hour for d in heuristics[cheapest]]
    diff, _ = paired_interval(rule_costs, best_costs)
    judged = {"seeds": [0, seeds - 1], "cost_per_hour": round(float(np.mean(rule_costs)), 4),
              "best_heuristic": cheapest,
              "best_heuristic_cost_per_hour": round(float(np.mean(best_costs)), 4),
              "paired_difference": round(diff.mean, 4),
              "paired_difference_ci95": [_round(diff.low), _round(diff.high)]}
    tuning = {"objective": tuned.objective, "training_days_seed": seed, "training_days": days,
              "start": tuned.start, "rules_tried": tuned.evaluations,
              "cost_per_hour": round(tuned.cost_per_hour, 4),
              "seconds": round(time.perf_counter() - started, 1)}
    if tuned.objective == "sla":
        tuning.update(_constraint_record(spec, tuned))
        judged.update(_evaluation_shortfalls(spec, rule_results, heuristics))
    document = rule_document(spec, rule, tuning=tuning, evaluation=judged)
    write_json(document, out)
    click.echo(f"tuned from {tuned.start}: {tuned.evaluations} rules tried in "
               f"{time.perf_counter() - started:.0f} s")
    if tuned.objective == "sla":
        click.echo("on the training days the rule meets every target" if tuned.feasible else
                   "no index rule found meets every target on the training days; this one "
                   f"falls least short (total shortfall {tuned.shortfall:.3f})")
        click.echo(f"on evaluation seeds 0..{seeds - 1}: total shortfall "
                   f"{judged['shortfall']:.3f}; least among heuristics "
                   f"{judged['best_heuristic_by_shortfall']} {judged['heuristic_shortfall']:.3f}")
    click.echo(f"on evaluation seeds 0..{seeds - 1}: cost/h {judged['cost_per_hour']:.2f}"
               f" against {cheapest} {judged['best_heuristic_cost_per_hour']:.2f}, paired "
               f"difference {diff.mean:+.2f} [{diff.low:+.2f}, {diff.high:+.2f}]")
    click.echo(f"wrote {out} (run it with --policy index:{out})")


def _constraint_record(spec, tuned) -> dict:
    names = spec.type_names
    return {"feasible": tuned.feasible, "shortfall": round(tuned.shortfall, 4),
            "service_levels": {n: round(v, 4) for n, v in zip(names, tuned.service_levels,
                                                              strict=True)},
            "multipliers": dict(zip(names, tuned.multipliers or [], strict=True)),
            "rounds": tuned.rounds}


def _evaluation_shortfalls(spec, rule_results, heuristics) -> dict:
    targets = sla_targets(spec)
    shortfall = {name: total_shortfall(mean_levels(days), targets)
                 for name, days in heuristics.items()}
    least = min(shortfall, key=shortfall.__getitem__)
    levels = mean_levels(rule_results)
    return {"shortfall": round(total_shortfall(levels, targets), 4),
            "service_levels": {n: round(v, 4) for n, v in zip(spec.type_names, levels,
                                                              strict=True)},
            "best_heuristic_by_shortfall": least,
            "heuristic_shortfall": round(shortfall[least], 4)}


def _round(value: float) -> float | None:
    return None if value != value else round(value, 4)
