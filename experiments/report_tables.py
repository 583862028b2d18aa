"""The tables a report is drawn from, read and checked: a damaged or foreign table is one line.

A table without a column the report reads, words where numbers belong, or a
scenarios.json that is not what a benchmark writes: one line naming file and
column (exit 2), never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pandas as pd

from experiments.errors import UserError
from experiments.stats import COMPARISON_COLUMNS


@dataclass(frozen=True)
class Tables:
    runs: pd.DataFrame
    comparison: pd.DataFrame
    by_type: pd.DataFrame | None
    hourly: pd.DataFrame | None
    waits: pd.DataFrame | None
    scenarios: dict[str, dict[str, Any]]
    manifest: dict[str, Any]


# The columns the report reads from each table; all but TEXT_COLUMNS hold numbers.
TABLE_COLUMNS = {
    "runs.csv": ("scenario", "policy", "seed", "cost_per_hour"),
    "comparison.csv": tuple(c for c in COMPARISON_COLUMNS if c != "cost_diff_p_value"),
    "by_type.csv": ("scenario", "policy", "ticket_type", "service_level", "mean_wait_min",
                    "abandon_rate"),
    "hourly.csv": ("scenario", "policy", "series", "name", "hour", "value"),
    "waits.csv": ("scenario", "policy", "ticket_type", "upper_min", "answered", "counted"),
}
TEXT_COLUMNS = ("scenario", "policy", "ticket_type", "series", "name", "best_heuristic")
KEY_COLUMNS = ("scenario", "policy", "seed", "n_seeds", "ticket_type", "series", "name", "hour")


def read_tables(results: Path) -> Tables:
    """The tables of a benchmark folder; runs.csv and comparison.csv are required.

    A table without a column the report reads, or with words where numbers
    belong, is one line naming file and column, never a traceback.
    """
    if not results.is_dir():
        raise UserError(f"RESULTS_DIR: {results} is not a folder")
    missing = [n for n in ("runs.csv", "comparison.csv") if not (results / n).is_file()]
    if missing:
        raise UserError(f"RESULTS_DIR: {results} has no {' or '.join(missing)} "
                        "(run `routelab benchmark` first)")

    def optional_csv(name: str) -> pd.DataFrame | None:
        return read_table(results / name) if (results / name).is_file() else None

    scenarios = {}
    for name, spec in read_json(results / "scenarios.json").items():
        if _scenario_spec_ok(results / "scenarios.json", name, spec):
            scenarios[name] = spec
    return Tables(read_table(results / "runs.csv"), read_table(results / "comparison.csv"),
                  optional_csv("by_type.csv"), optional_csv("hourly.csv"),
                  optional_csv("waits.csv"), scenarios, read_json(results / "manifest.json"))


def read_table(path: Path) -> pd.DataFrame:
    """One result table, its columns checked against TABLE_COLUMNS."""
    try:
        frame = pd.read_csv(path, dtype=dict.fromkeys(TEXT_COLUMNS, str))
    except (ValueError, OSError) as error:
        raise UserError(f"RESULTS_DIR: {path}: unreadable table "
                        f"({' '.join(str(error).split())[:200]})") from None
    required = TABLE_COLUMNS.get(path.name, ())
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise UserError(f"RESULTS_DIR: {path}: missing column(s) {', '.join(absent)}")
    if frame.empty:
        if path.name in ("runs.csv", "comparison.csv"):
            raise UserError(f"RESULTS_DIR: {path}: no rows")
        return frame
    for column in required:
        if column not in TEXT_COLUMNS and not pd.api.types.is_numeric_dtype(frame[column]):
            raise UserError(f"RESULTS_DIR: {path}: column {column}: expected numbers")
        if column in KEY_COLUMNS and frame[column].isna().any():
            raise UserError(f"RESULTS_DIR: {path}: column {column}: empty cells")
    return frame


def read_json(path: Path) -> dict[str, Any]:
    """An optional JSON object beside the tables ({} if absent)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        reason = "nested too deep" if isinstance(error, RecursionError) else \
            " ".join(str(error).split())[:200]
        raise UserError(f"RESULTS_DIR: {path}: unreadable ({reason})") from None
    if not isinstance(data, dict):
        raise UserError(f"RESULTS_DIR: {path}: expected a JSON object")
    return data


def _scenario_spec_ok(path: Path, name: str, spec: object) -> bool:
    """A scenario in scenarios.json the figures can draw from; else a note, and only the
    cost figure for it."""
    from sim.scenario import parse_scenario

    try:
        parse_scenario(spec, f"{path}: {name}")
    except (ValueError, RecursionError) as error:  # ScenarioError is a ValueError
        said = " ".join(str(error).split())[:300]
        click.echo(f"note: {said}; only its cost figure is drawn", err=True)
        return False
    return True
