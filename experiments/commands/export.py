"""`routelab export`: the command line only; the work is in experiments/export.py."""

from __future__ import annotations

from pathlib import Path

import click

from experiments.commands import MAX_EVALUATION_SEEDS


@click.command()
@click.argument("policy_spec", metavar="POLICY")
@click.option("--scenario", "scenario_name", required=True,
              help="The scenario (a path or a name in scenarios/) the table is built for.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The table file to write (JSON); a CSV view goes beside it.")
@click.option("--days", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="Simulated days whose decisions fill the table (seeds 10000..).")
@click.option("--seeds-eval", default=10, show_default=True,
              type=click.IntRange(1, MAX_EVALUATION_SEEDS),
              help="Held-out seeds 0..M-1 for agreement, coverage and the paired cost.")
@click.option("--csv/--no-csv", "write_people_csv", default=True, show_default=True,
              help="Also write FILE.csv: one row per key, the state in words.")
@click.option("--queue-bins", default=3, show_default=True, type=click.IntRange(min=1),
              help="Quantile bins of queues of 2 or more tickets.")
@click.option("--wait-bins", default=3, show_default=True, type=click.IntRange(min=1),
              help="Quantile bins of the head-of-line wait of a non-empty queue.")
@click.option("--hour-edges", default=None, metavar="H1,H2,...",
              help="Add an hour-of-day feature with these band edges (0 is always one), "
                   "e.g. 0,7,10,12,17,22 [default: no hour feature].")
@click.option("--prune/--all-rows", default=True, show_default=True,
              help="--prune stores only keys where the source's majority agrees with it more "
                   "often than the fallback heuristic does (where the fallback is as good, it "
                   "decides); --all-rows stores every key's majority.")
@click.option("--max-kb", default=1000, show_default=True, type=click.IntRange(min=10),
              help="Size budget of the JSON file in kB (10^3 bytes).")
@click.option("--force", is_flag=True,
              help="Replace --out if it exists (and FILE.csv beside it, if that is the CSV "
                   "view of a lookup table).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def export(policy_spec: str, scenario_name: str, out: Path, days: int, seeds_eval: int,
           write_people_csv: bool, queue_bins: int, wait_bins: int, hour_edges: str | None,
           prune: bool, max_kb: int, force: bool, quiet: bool) -> None:
    """Build a lookup table that routes like POLICY on SCENARIO, and measure how well.

    POLICY is anything --policy accepts: a heuristic, model:PATH, table:PATH or
    optimal. The table stores the policy's majority action per binned state
    (docs/lookup-table.md); fidelity on held-out seeds is printed and stored.
    Model files (model:PATH) are pickles: load only files you trust.
    """
    from experiments.export import run
    from experiments.paths import output_folder

    with output_folder(None, cache=False):  # the solver's cache is read, not written
        run(policy_spec=policy_spec, scenario_name=scenario_name, out=out, days=days,
            seeds_eval=seeds_eval, write_people_csv=write_people_csv, queue_bins=queue_bins,
            wait_bins=wait_bins, hour_edges=hour_edges, prune=prune, max_kb=max_kb,
            force=force, quiet=quiet)
