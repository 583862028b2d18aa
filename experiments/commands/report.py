"""`routelab report`: the command line only; the work is in experiments/report.py."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
def report(results_dir: Path) -> None:
    """Rebuild report.html and plots/ of RESULTS_DIR from its tables (no simulation)."""
    from experiments.report import run

    run(results_dir=results_dir)
