"""What the command line prints: warnings and readable summary tables."""

from __future__ import annotations

import math

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from sim.intervals import FEW_SEEDS
from sim.scenario import Scenario


def warn_about(scenario: Scenario) -> None:
    """Legal but suspicious scenario values, as warnings on stderr."""
    load = scenario.offered_load()
    if load <= 1:
        return
    patient = [n for n, t in scenario.ticket_types.items() if t.patience_minutes is None]
    consequence = (f"queues of {', '.join(patient)} will grow" if patient
                   else "only abandonment keeps the queues finite")
    click.echo(f"warning: {scenario.name}: offered load {load:.2f} > 1 over the horizon; "
               f"{consequence}", err=True)


def _fmt(value: object, digits: int = 2, percent: bool = False) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if percent:
        return f"{100 * float(value):.1f}%"
    return f"{float(value):,.{digits}f}" if isinstance(value, float) else str(value)


def print_summary(summary: pd.DataFrame, title: str) -> None:
    """Means over seeds per ticket type (and ALL) of one or more policies."""
    numeric = ["arrived", "served", "abandoned", "unresolved", "abandon_rate", "mean_wait_min",
               "p95_wait_min", "service_level", "cost_per_hour"]
    means = summary.groupby(["policy", "ticket_type"], sort=False)[numeric].mean().reset_index()
    seeds = summary["seed"].nunique()
    title += f" (mean over {seeds} seed{'s' if seeds != 1 else ''} per row)"
    table = Table(title=title, title_justify="left",
                  caption="tickets per run (one horizon); waits in minutes; SLA met: share answered within "
                          "the type's sla_minutes; cost: waiting and abandonment cost per hour, "
                          "in the scenario's money", caption_justify="left")
    for column in ("policy", "ticket type", "arrived", "served", "aband.", "unres.", "aband. %",
                   "mean wait min", "p95 wait min", "SLA met", "cost/h"):
        table.add_column(column, justify="left" if column in ("policy", "ticket type") else "right")
    for row in means.itertuples():
        table.add_row(row.policy, row.ticket_type, f"{row.arrived:,.0f}", f"{row.served:,.0f}",
                      f"{row.abandoned:,.0f}", f"{row.unresolved:,.0f}",
                      _fmt(row.abandon_rate, percent=True), _fmt(row.mean_wait_min),
                      _fmt(row.p95_wait_min), _fmt(row.service_level, percent=True),
                      _fmt(row.cost_per_hour, 1),
                      end_section=row.ticket_type == "ALL")
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    console.print(table)


def warn_if_few_seeds(seeds: int) -> None:
    """Intervals from a handful of seeds are wide and rough: say so."""
    if seeds < FEW_SEEDS:
        click.echo(f"note: only {seeds} seed(s): the 95% intervals are wide (t with {seeds - 1} "
                   f"degrees of freedom); use --seeds {FEW_SEEDS} or more to compare policies",
                   err=True)
