"""`routelab sweep`: the command line only; the work is in experiments/sweep.py."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar or table.")
def sweep(config_path: Path, quiet: bool) -> None:
    """Run the grid declared in CONFIG.yaml (see experiments/sweeps/example.yaml).

    Trains the declared models first, then simulates every policy and trained
    model on the same seeds and writes the benchmark's tables and report,
    plus training.csv. A rerun skips finished jobs.
    """
    from experiments.sweep import run

    run(config_path=config_path, quiet=quiet)
