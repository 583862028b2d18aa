"""`routelab tune`: the command line only; the work is in experiments/tune.py."""

from __future__ import annotations

from pathlib import Path

import click

from experiments.commands import MAX_EVALUATION_SEEDS


@click.command()
@click.argument("scenario")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The index rule file to write (JSON; run it with --policy index:FILE).")
@click.option("--objective", type=click.Choice(["cost", "sla"]), default="cost", show_default=True,
              help="cost: least cost per hour. sla: least cost such that every ticket type "
                   "meets its sla_target (or, where no rule can, the least total shortfall).")
@click.option("--seeds", default=10, show_default=True, type=click.IntRange(1, MAX_EVALUATION_SEEDS),
              help="Judge the tuned rule on evaluation seeds 0..N-1 (never tuned on).")
@click.option("--days", default=6, show_default=True, type=click.IntRange(min=1, max=200),
              help="Training days every candidate rule is judged on.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0, max=2**31 - 1),
              help="Which training days (drawn from this seed).")
@click.option("--reservations/--no-reservations", default=True, show_default=True,
              help="Also search queue thresholds and agents kept free per pair.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1, max=256),
              help="Processes judging a candidate's days in parallel.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def tune(scenario: str, out: Path, objective: str, seeds: int, days: int, seed: int,
         reservations: bool, workers: int, force: bool, quiet: bool) -> None:
    """Tune the index rule of SCENARIO (weight per ticket type x service rate, with
    reservations) on training days, judge it on evaluation seeds, write it as JSON.

    With --objective sla each type's missed tickets get a price (a Lagrange
    multiplier), raised round after round until every sla_target holds on the
    training days; the file records the prices and the service levels."""
    from experiments.tune import run

    run(scenario=scenario, out=out, seeds=seeds, days=days, seed=seed,
        reservations=reservations, workers=workers, force=force, quiet=quiet,
        objective=objective)
