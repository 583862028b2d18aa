"""`routelab simulate`: the command line only; the work is in experiments/simulate.py."""

from __future__ import annotations

from pathlib import Path

import click

from experiments.commands import MAX_EVALUATION_SEEDS


@click.command()
@click.argument("scenario")
@click.option("--policy", "policy_spec", required=True,
              help="A heuristic name (fifo, cmu, ...), model:PATH, table:PATH or optimal.")
@click.option("--seeds", default=1, show_default=True,
              type=click.IntRange(1, MAX_EVALUATION_SEEDS),
              help="Run seeds 0..N-1.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: results/runs/simulate/<scenario>/<policy>]; "
                   "with --out, the solver cache of `optimal` goes to OUT/cache/optimal.")
@click.option("--force", is_flag=True,
              help="Use a lookup table, index rule or model made for another scenario "
                   "(version).")
@click.option("--quiet", is_flag=True, help="No progress bar or table.")
def simulate(scenario: str, policy_spec: str, seeds: int, out: Path | None, force: bool,
             quiet: bool) -> None:
    """Simulate SCENARIO (a path or a name in scenarios/) under one policy.

    Writes summary.csv, tickets.parquet, agents.csv and manifest.json.
    Model files (model:PATH) are pickles: load only files you trust.
    """
    from experiments.paths import output_folder
    from experiments.simulate import run

    with output_folder(out):
        run(scenario=scenario, policy_spec=policy_spec, seeds=seeds, out=out, force=force,
            quiet=quiet)
