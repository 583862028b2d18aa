"""What `routelab speed` prints: what it measured, the ratios, where the time goes, the checks."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.table import Table


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=130)


def print_race(race: dict[str, Any]) -> None:
    queue, console = race["queue"], _console()
    rounds = queue["rounds"]
    table = Table(title=f"M/M/{queue['agents']} at load {queue['load']} "
                        f"({queue['arrivals_per_minute']:g} arrivals a minute, handle "
                        f"{queue['handle_minutes']:g} minute), seed {queue['seed']}, "
                        f"{queue['horizon_minutes'] / 60:,.0f} simulated hours; best of "
                        f"{rounds} round{'s' if rounds > 1 else ''}", title_justify="left")
    for column in ("model", "tickets", "events", "whole: CPU s", "wall s", "tickets/CPU s",
                   "in process: CPU s", "tickets/CPU s"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for m in race["models"]:
        whole, inside = m["whole_process"], m["in_process"]
        table.add_row(m["model"], f"{m['tickets']:,}",
                      f"{m['events']:,}" if m["events"] is not None else "-",
                      f"{whole['best_cpu_seconds']:.2f}", f"{whole['wall_seconds_of_best']:.2f}",
                      f"{whole['tickets_per_cpu_second']:,}", f"{inside['best_cpu_seconds']:.2f}",
                      f"{inside['tickets_per_cpu_second']:,}")
    console.print(table)
    console.print(
        f"Whole process: one fresh Python process from start to exit. routelab's is "
        f"`{queue['command']}` (read the scenario, simulate, write summary.csv, tickets.parquet, "
        "agents.csv and manifest.json); the others draw the same inputs with numpy and "
        "simulate. In process: the simulation alone, as each process timed it (the "
        "baselines are handed their inputs, routelab draws its own). CPU s is the "
        f"process's user plus system time; wall s beside it, as other jobs may share this "
        f"machine's {os.cpu_count()} cores. Events: calendar entries scheduled.")
    for name, ratio in race["ratios"].items():
        console.print(f"routelab / {name}: {ratio['whole_process']:.2f} whole process "
                      f"({ratio['whole_process_wall']:.2f} by wall time), "
                      f"{ratio['in_process']:.2f} in process (tickets per second)")


def print_where(where: dict[str, Any]) -> None:
    total = where["cpu_seconds"]
    parts = ", ".join(f"{part} {seconds:.2f} s ({100 * seconds / total:.0f}%)"
                      for part, seconds in where["seconds"].items() if seconds > 0)
    _console().print(
        f"Where routelab's time goes (`{' '.join(where['command'])}`, one run, sampled every "
        f"millisecond of CPU, {where['samples']:,} samples, {total:.2f} s of CPU): {parts}. "
        "Arrivals include drawing them; decisions include the policy's.")


def print_checks(checks: dict[str, Any], erlang: dict[str, Any]) -> None:
    console = _console()
    for name, check in checks.items():
        if not isinstance(check, dict):
            continue
        replayed = (f"every one of its {check['tickets']:,} tickets" if "of" not in check
                    or check["of"] == check["tickets"]
                    else f"the first {check['tickets']:,} of {check['of']:,} tickets")
        console.print(f"replay, {name}: {replayed}; largest difference from routelab: "
                      f"arrival {check['max_arrival_difference_min']:.1e} min, wait "
                      f"{check['max_wait_difference_min']:.1e} min")
    console.print(f"replays agree within {checks['tolerance_min']:g} min: "
                  f"{'yes' if checks['agree'] else 'NO'}")
    theory = erlang["erlang_c_mean_wait_min"]
    for name in ("routelab", "Ciw"):
        e = erlang[name]
        console.print(f"{name}: mean wait of {e['tickets']:,} tickets after the warm-up "
                      f"{e['mean_wait_min']:.4f} min +- {e['ci95_half_width']:.4f} (95%, batch "
                      f"means), Erlang C {theory:.4f} ({100 * e['relative_to_erlang_c']:+.1f}%, "
                      f"{'inside' if e['erlang_c_inside_ci'] else 'outside'} the interval)")
    console.print("routelab's summary.csv mean wait equals its ticket table's: "
                  f"{'yes' if erlang['routelab']['summary_agrees'] else 'NO'}")


def print_scaling(agents: list[dict], types: list[dict]) -> None:
    console = _console()
    table = Table(title="routelab time per ticket vs agents (M/M/c, load 0.9, same tickets)",
                  title_justify="left")
    for column in ("agents", "tickets", "us/ticket", "us/ticket simulate only", "x 10 agents"):
        table.add_column(column, justify="right")
    for row in agents:
        table.add_row(str(row["agents"]), f"{row['tickets']:,}", f"{row['us_per_ticket']:.2f}",
                      f"{row['us_per_ticket_simulate_only']:.2f}", f"{row['relative']:.2f}")
    console.print(table)
    table = Table(title="routelab time per ticket vs ticket types (10 agents and load 0.9 per "
                        "type, same tickets)", title_justify="left")
    for column in ("types", "layout", "agents", "us/ticket", "us/ticket simulate only",
                   "x 1 type", "decisions with a choice", "pairs per choice"):
        table.add_column(column, justify="left" if column == "layout" else "right")
    for row in types:
        table.add_row(str(row["types"]), row["layout"], str(row["agents"]),
                      f"{row['us_per_ticket']:.2f}", f"{row['us_per_ticket_simulate_only']:.2f}",
                      f"{row['relative']:.2f}", f"{100 * row['share_with_a_choice']:.1f}%",
                      f"{row['pairs_per_choice']:.2f}",
                      end_section=row["types"] == types[-1]["types"])
    console.print(table)
    console.print("Time per ticket is CPU time in this process, best of the repeats, including "
                  "the ticket table and summary rows. In the generalist layout an idle agent "
                  "may serve every type, so a decision compares every feasible (type, group) "
                  "pair and a finishing agent checks every queue: that work grows with the "
                  "number of types by design.")


def print_memory(memory: dict[str, Any]) -> None:
    _console().print(
        f"peak memory, one day of {memory['tickets']:,} tickets incl. ticket table: "
        f"{memory['peak_rss_mb']:.0f} MB peak RSS; {memory['rss_after_imports_mb']:.0f} MB "
        f"after imports, +{memory['run_rss_growth_mb']:.0f} MB for the run; tracemalloc peak "
        f"{memory['tracemalloc_peak_mb']:.0f} MB")
