"""`routelab audit`: the command line only; the work is in experiments/audit/run.py."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("policy")
@click.option("--scenario", required=True, help="A scenario name in scenarios/ or a path.")
@click.option("--seeds", default=10, show_default=True, type=click.IntRange(min=1, max=999),
              help="Simulated days 0..N-1, the same for every stress and both policies.")
@click.option("--baseline", default=None,
              help="The heuristic to compare with [default: the heuristic, random aside, "
                   "that the report would recommend: the cheapest meeting every target, "
                   "else the least short].")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for audit.json, audit.html and the stressed scenarios.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1, max=256),
              help="Processes running the days in parallel.")
@click.option("--quiet", is_flag=True, help="No progress messages.")
def audit(policy: str, scenario: str, seeds: int, baseline: str | None, out: Path,
          workers: int, quiet: bool) -> None:
    """Audit POLICY on a scenario: fairness (service per ticket type, channel and agent
    group), robustness (the same days under seven stresses, against a baseline heuristic)
    and transparency (its rule in words, its most frequent choices, where it departs
    from the baseline). Writes audit.json and audit.html."""
    from experiments.audit.run import run

    run(policy_spec=policy, scenario=scenario, seeds=seeds, baseline=baseline, out=out,
        workers=workers, quiet=quiet)
