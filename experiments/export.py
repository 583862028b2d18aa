"""`routelab export`: turn a policy into a lookup table (JSON, plus a CSV for people)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click
import pandas as pd
from tqdm import tqdm

from agents.registry import make_policy
from agents.tables.build import ExportSettings, export_table
from agents.tables.people import people_columns, people_rows
from experiments.errors import UserError
from experiments.io import write_csv, write_text
from sim.scenario import load_scenario


def _hour_edges(value: str | None) -> tuple[float, ...]:
    if value is None:
        return ()
    try:
        edges = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise UserError(f"--hour-edges: expected hours like 0,6,12,18, got {value!r}") from None
    if any(not 0 <= e < 24 for e in edges) or list(edges) != sorted(set(edges)):
        raise UserError(f"--hour-edges: hours must be increasing within [0, 24), got {value!r}")
    return edges


CSV_VIEW_HEAD = ("state", "action", "decisions", "share_choosing_action")


def check_targets(out: Path, write_people_csv: bool, force: bool) -> Path:
    """Refuse, before any work, to replace a file unasked; returns the CSV view's path.

    --out is replaced only with --force; FILE.csv, which the user did not name,
    only with --force and only if it is the CSV view of a lookup table.
    """
    csv_path = out.with_suffix(".csv")
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; the table is a .json file")
    if out.exists() and not force:
        raise UserError(f"--out {out}: exists; pass --force to replace it")
    if write_people_csv and csv_path.exists():
        if not _is_csv_view(csv_path):
            raise UserError(f"--out {out}: {csv_path} exists and is not the CSV view of a "
                            "lookup table; it is left alone (pass --no-csv, or move it)")
        if not force:
            raise UserError(f"--out {out}: {csv_path} (its CSV view) exists; pass --force to "
                            "replace both, or --no-csv")
    return csv_path


def _is_csv_view(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.readline(10_000).rstrip("\r\n").split(",")
    except (OSError, UnicodeDecodeError):
        return False
    return path.is_file() and tuple(head[:4]) == CSV_VIEW_HEAD and head[-1] == "key"


def run(policy_spec: str, scenario_name: str, out: Path, days: int, seeds_eval: int,
           write_people_csv: bool, queue_bins: int, wait_bins: int, hour_edges: str | None,
           prune: bool, max_kb: int, quiet: bool, force: bool = False) -> None:
    """The work of `routelab export`; its options and help: experiments/commands/export.py."""
    if out.suffix.lower() != ".json":
        raise UserError(f"--out {out}: the table is a .json file")
    csv_path = check_targets(out, write_people_csv, force)
    scenario = load_scenario(scenario_name)
    make_policy(policy_spec, scenario)  # fail fast, before any simulation
    settings = ExportSettings(days=days, seeds_eval=seeds_eval, queue_bins=queue_bins,
                              wait_bins=wait_bins, hour_edges=_hour_edges(hour_edges),
                              prune=prune, max_bytes=max_kb * 1000)

    def progress(seeds: Iterable[int], what: str) -> Iterable[int]:
        return tqdm(seeds, desc=f"{scenario.name} / {policy_spec}: {what}", unit="day",
                    disable=quiet, leave=False)

    built = export_table(scenario, policy_spec, settings, progress)
    try:
        write_text(built.text, out)
        if write_people_csv:
            people = pd.DataFrame(people_rows(built), columns=people_columns(built.document))
            write_csv(people, csv_path)
    except OSError as error:
        raise UserError(f"--out {out}: cannot write ({error.strerror or error})") from None
    click.echo(fidelity_lines(built.document))
    click.echo(f"wrote {out}" + (f" and {csv_path}" if write_people_csv else ""))


def _pct(value: float | None) -> str:
    return "n/a (no decision with a choice)" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}"


def fidelity_lines(document: dict) -> str:
    """The fidelity block as a few readable lines."""
    f = document["fidelity"]
    low, high = f["cost_diff_ci95"]
    pct_low, pct_high = f["cost_diff_pct_ci95"]
    return "\n".join([
        f"{document['scenario']}: table from {document['source_policy']}, "
        f"default {document['default']}, {len(document['features'])} features",
        f"  held-out seeds {f['eval_seeds'][0]}..{f['eval_seeds'][1]}: "
        f"{f['decisions_with_choice']:,} decisions asked of the table "
        f"(of {f['decisions']:,})",
        f"  agreement with the source  {_pct(f['agreement'])}",
        f"  coverage (key found)       {_pct(f['coverage'])}",
        f"  cost per hour: source {f['cost_per_hour_source']:.2f}, table "
        f"{f['cost_per_hour_table']:.2f}, paired difference {_num(f['cost_diff_per_hour'])} "
        f"[95% CI {_num(low)}, {_num(high)}] = {_num(f['cost_diff_pct'])}% "
        f"[{_num(pct_low)}%, {_num(pct_high)}%]",
        f"  size: {f['rows']:,} rows ({f['train_keys']:,} keys seen in training, "
        f"{f['rows_dropped']:,} dropped), {f['bytes'] / 1000:,.1f} kB",
    ])
