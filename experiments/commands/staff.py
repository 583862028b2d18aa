"""`routelab staff`: the command line only; the work is in experiments/staff.py."""

from __future__ import annotations

from pathlib import Path

import click

from experiments.runner import BACKENDS
from experiments.staffing import SCOPES


@click.command()
@click.argument("scenario")
@click.option("--policy", "policy_spec", required=True,
              help="The routing policy the roster must work under (a heuristic name, "
                   "model:PATH, table:PATH, ...).")
@click.option("--scope", type=click.Choice(SCOPES), default="hour", show_default=True,
              help="hour: every hour's arrivals meet the target; day: the day's arrivals do.")
@click.option("--seeds", default=10, show_default=True, type=click.IntRange(2, 1000),
              help="Simulated days judging each candidate roster (seeds 10000..).")
@click.option("--verify-seeds", default=20, show_default=True, type=click.IntRange(2, 1000),
              help="Fresh days (seeds 0..N-1) for the final figures.")
@click.option("--shift-hours", type=click.IntRange(1, 24), default=None,
              help="Turn the hourly requirement into shifts of this many hours (1-24).")
@click.option("--margin", type=float, default=0.0, show_default=True,
              help="Search for every target plus this much (0.01 = one point), for room "
                   "against day-to-day noise.")
@click.option("--max-iterations", default=60, show_default=True, type=click.IntRange(0, 10_000),
              help="Search steps at most.")
@click.option("--what-if/--no-what-if", default=True, show_default=True,
              help="Simulate one agent more or fewer per group at the busiest hours.")
@click.option("--backend", type=click.Choice(BACKENDS), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (with --backend ray).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Parallel simulations [default: the CPU count].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder.")
@click.option("--jobs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where job files go [default: OUT/jobs].")
@click.option("--quiet", is_flag=True, help="No progress bars or table.")
def staff(scenario: str, policy_spec: str, scope: str, seeds: int, verify_seeds: int,
          shift_hours: int | None, margin: float, max_iterations: int, what_if: bool,
          backend: str, address: str | None, workers: int | None, out: Path,
          jobs_dir: Path | None, quiet: bool) -> None:
    """Staff SCENARIO so that every ticket type meets its sla_target under POLICY.

    Starts from one Erlang team per ticket type and improves by simulation
    (marginal analysis on common random numbers); verifies the roster on fresh
    days. Writes staffing.csv, staffed.yaml, staff.json, plots/staffing.png
    and report.html into OUT.
    """
    from experiments.staff import run

    run(
        scenario=scenario, policy_spec=policy_spec, scope=scope, seeds=seeds,
        verify_seeds=verify_seeds, shift_hours=shift_hours, margin=margin,
        max_iterations=max_iterations, what_if=what_if, backend=backend, address=address,
        workers=workers, out=out, jobs_dir=jobs_dir, quiet=quiet)
