"""What `routelab staff` prints at the end: the three rosters side by side, and the what-if."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from experiments.staffing.section import headline


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def print_study(doc: dict[str, Any]) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    types = [r["ticket_type"] for r in doc["service_levels"]]
    targets = {r["ticket_type"]: r["sla_target"] for r in doc["service_levels"]}
    days = len(doc["verification_seeds"])
    table = Table(title=f"{doc['scenario']} under {doc['policy']}: service level over the day "
                        f"on {days} fresh days (± half the 95% CI)", title_justify="left")
    table.add_column("roster")
    table.add_column("agent-hours", justify="right")
    table.add_column("cost", justify="right")
    for name in types:
        table.add_column(f"{name} (target {_pct(targets[name])})", justify="right")
    for plan in doc["plans"]:
        levels = [_level(r) for r in plan["by_type"]]
        table.add_row(plan["label"], f"{plan['agent_hours']:,.0f}", f"{plan['cost']:,.1f}",
                      *levels)
    console.print(table)
    if doc["scope"] == "hour":
        console.print("hours meeting target (staffed): " + "; ".join(
            f"{r['ticket_type']} {r['hours_meeting_target']}/{r['hours']}"
            for r in doc["service_levels"]))
    what_if = doc.get("what_if")
    if what_if and what_if["changes"]:
        hours = ", ".join(f"{h:02d}h" for h in what_if["hours"])
        changes = Table(title=f"what if: one agent more or fewer at the busiest hours ({hours}); "
                              "change in the service level of those hours' arrivals (points, "
                              "± half the paired 95% CI)", title_justify="left")
        changes.add_column("change")
        changes.add_column("cost", justify="right")
        for name in types:
            changes.add_column(name, justify="right")
        for change in what_if["changes"]:
            by_type = {r["ticket_type"]: r for r in change["by_type"]}
            changes.add_row(f"{change['change']:+d} {change['group']}", f"{change['cost']:+,.1f}",
                            *(_points(by_type[name]) for name in types))
        console.print(changes)
    console.print(headline(doc))


def _level(row: dict[str, Any]) -> str:
    if row["service_level"] is None:
        return "-"
    if row["ci_low"] is None:
        return _pct(row["service_level"])
    return f"{_pct(row['service_level'])} ±{100 * (row['ci_high'] - row['ci_low']) / 2:.1f}"


def _points(row: dict[str, Any]) -> str:
    change, low, high = (row["busiest_hours_change"], row["busiest_hours_ci_low"],
                         row["busiest_hours_ci_high"])
    if change is None:
        return "-"
    return f"{100 * change:+.1f}" + ("" if low is None else f" ±{100 * (high - low) / 2:.1f}")
