"""`routelab benchmark`: the command line only; the work is in experiments/benchmark.py."""

from __future__ import annotations

from pathlib import Path

import click

from experiments.commands import MAX_EVALUATION_SEEDS
from experiments.runner import BACKENDS


@click.command()
@click.argument("scenarios", nargs=-1, required=True)
@click.option("--policies", default=None,
              help="Comma-separated policies (heuristic names, model:PATH, table:PATH, optimal) "
                   "[default: every heuristic].")
@click.option("--seeds", default=10, show_default=True, type=click.IntRange(1, MAX_EVALUATION_SEEDS),
              help="Run seeds 0..N-1 of every scenario and policy.")
@click.option("--backend", type=click.Choice(BACKENDS), default="local", show_default=True,
              help="local: a process pool; ray: Ray tasks (RAY_ADDRESS or --address, "
                   "else a local Ray instance).")
@click.option("--address", default=None, help="Ray cluster address (with --backend ray).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel jobs [default: the CPU count, or the Ray cluster's CPUs].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: results/runs/benchmark/<scenarios>]; with --out, "
                   "the solver cache of `optimal` goes to OUT/cache/optimal.")
@click.option("--jobs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where job files go [default: OUT/jobs].")
@click.option("--quiet", is_flag=True, help="No progress bar or table.")
def benchmark(scenarios: tuple[str, ...], policies: str | None, seeds: int, backend: str,
              address: str | None, workers: int | None, out: Path | None,
              jobs_dir: Path | None, quiet: bool) -> None:
    """Run every policy on every SCENARIO over seeds 0..N-1 and compare them.

    Writes runs.csv, comparison.csv (means with 95% t intervals, and the
    difference in cost per hour against the best heuristic, paired by seed),
    plots/ and report.html. One file per job under jobs/: a rerun skips
    finished jobs, so an interrupted benchmark resumes.
    """
    from experiments.benchmark import run
    from experiments.paths import output_folder

    with output_folder(out):
        run(scenarios=scenarios, policies=policies, seeds=seeds, backend=backend,
            address=address, workers=workers, out=out, jobs_dir=jobs_dir, quiet=quiet)
