"""`routelab tune`: tune the index rule on training days, judge it on evaluation seeds, write it."""

from __future__ import annotations

import time
from pathlib import Path

import click

from agents.evaluation import simulated_costs
from agents.heuristics import HEURISTICS
from agents.index.rule import rule_document
from agents.index.tune import rule_cost, tune_index
from agents.progress import PlannedBar
from experiments.errors import UserError
from sim.atomic import write_json
from sim.intervals import paired_interval
from sim.metrics import cost_per_hour
from sim.model import SupportModel
from sim.scenario import load_scenario
from sim.seeds import evaluation_seeds, training_days

JUDGED = tuple(name for name in HEURISTICS if name != "random")


def run(scenario: str, out: Path, seeds: int, days: int, seed: int, reservations: bool,
        workers: int, force: bool, quiet: bool) -> None:
    spec = load_scenario(scenario)
    if out.exists() and not force:
        raise UserError(f"--out: {out} exists; pass --force to replace it")
    started = time.perf_counter()
    bar = PlannedBar(f"tuning {spec.name} on {days} training days", disable=quiet)
    try:
        tuned = tune_index(spec, training_days(seed + 1, days), workers=workers,
                           reservations=reservations, progress=bar)
    finally:
        bar.close()
    rule = tuned.rule
    evaluation = evaluation_seeds(seeds)
    heuristics = simulated_costs(spec, evaluation, JUDGED)
    best = next(iter(heuristics))
    rule_costs = [cost_per_hour(SupportModel(spec, s).run(rule)) for s in evaluation]
    best_costs = [cost_per_hour(SupportModel(spec, s).run(HEURISTICS[best]())) for s in evaluation]
    diff, _ = paired_interval(rule_costs, best_costs)
    document = rule_document(spec, rule, tuning={
        "training_days_seed": seed, "training_days": days, "start": tuned.start,
        "rules_tried": tuned.evaluations, "cost_per_hour": round(tuned.cost_per_hour, 4),
        "seconds": round(time.perf_counter() - started, 1)},
        evaluation={"seeds": [0, seeds - 1], "cost_per_hour": round(rule_cost(spec, rule, evaluation), 4),
                    "best_heuristic": best,
                    "best_heuristic_cost_per_hour": round(heuristics[best], 4),
                    "paired_difference": round(diff.mean, 4),
                    "paired_difference_ci95": [_round(diff.low), _round(diff.high)]})
    write_json(document, out)
    click.echo(f"tuned from {tuned.start}: {tuned.evaluations} rules tried in "
               f"{time.perf_counter() - started:.0f} s")
    click.echo(f"on evaluation seeds 0..{seeds - 1}: cost/h {document['evaluation']['cost_per_hour']:.2f}"
               f" against {best} {heuristics[best]:.2f}, paired difference "
               f"{diff.mean:+.2f} [{diff.low:+.2f}, {diff.high:+.2f}]")
    click.echo(f"wrote {out} (run it with --policy index:{out})")


def _round(value: float) -> float | None:
    return None if value != value else round(value, 4)
