"""`routelab simulate`: the command line only; the work is in experiments/simulate.py."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("scenario")
@click.option("--policy", "policy_spec", required=True,
              help="A heuristic name (fifo, cmu, ...), model:PATH, table:PATH or optimal.")
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(min=1),
              help="Run seeds 0..N-1.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: results/runs/simulate/<scenario>/<policy>].")
@click.option("--force", is_flag=True, help="Use a lookup table built for another scenario version.")
@click.option("--quiet", is_flag=True, help="No progress bar or table.")
def simulate(scenario: str, policy_spec: str, seeds: int, out: Path | None, force: bool,
             quiet: bool) -> None:
    """Simulate SCENARIO (a path or a name in scenarios/) under one policy.

    Writes summary.csv, tickets.parquet, agents.csv and manifest.json.
    Model files (model:PATH) are pickles: load only files you trust.
    """
    from experiments.simulate import run

    run(
        scenario=scenario, policy_spec=policy_spec, seeds=seeds, out=out, force=force, quiet=quiet)
