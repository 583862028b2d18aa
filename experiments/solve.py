"""`routelab solve`: the exact optimal long-run cost of a small scenario."""

from __future__ import annotations

import json
import math

import click

from agents.exact.heuristics import exact_heuristic_costs
from agents.exact.policy import remember
from agents.exact.solver import check_solvable
from agents.exact.solver import solve as solve_exactly
from experiments.terminal import warn_about
from sim.scenario import load_scenario


def run(scenario: str, as_json: bool, heuristics: bool, max_states: int) -> None:
    """The work of `routelab solve`; its options and help: experiments/commands/solve.py."""
    spec = load_scenario(scenario)
    check_solvable(spec, max_states)  # refuse in one line before printing anything
    if not as_json:
        warn_about(spec)
        click.echo(f"solving {spec.name} ...", err=True)
    solution = solve_exactly(spec, max_states=max_states)
    remember(solution)
    facts = solution.summary()
    if heuristics and solution.mdp is not None:
        if not as_json:
            click.echo("evaluating heuristics in the same MDP ...", err=True)
        costs = exact_heuristic_costs(spec, solution.mdp)
        facts["heuristics"] = {name: {"cost_per_hour": c.cost_per_hour, "note": c.note}
                               for name, c in costs.items()}
    if as_json:
        click.echo(json.dumps(facts))
    else:
        _print(facts)


def _print(facts: dict) -> None:
    optimum = facts["cost_per_hour"]
    low, high = facts["optimal_bounds_per_hour"]
    caps = ", ".join(f"{t} <= {c}" for t, c in facts["queue_caps"].items())
    worst_tail = max(facts["cap_mass"].values())
    click.echo(f"{facts['scenario']}: optimal long-run cost {optimum:,.3f} per hour "
               f"(bounds {low:,.3f} .. {high:,.3f})")
    click.echo(f"  states {facts['states']:,}; queues truncated at {caps} "
               f"(time at a cap <= {worst_tail:.1e}, limit {facts['tail_mass_limit']:.0e})")
    click.echo(f"  uniformised at {facts['uniformisation_per_minute']:.4g} events/min; "
               f"{facts['rvi_iterations']:,} value iterations to a relative gap of "
               f"{facts['rtol']:.0e}; {facts['solve_seconds']:.1f} s")
    click.echo(f"  agents kept idle while work they could take waits: "
               f"{facts['holding_share']:.1%} of the time")
    rows = facts.get("heuristics")
    if not rows:
        return
    click.echo("")
    click.echo(f"  {'policy':<12}{'cost/h':>12}{'vs optimal':>12}  note")
    click.echo(f"  {'optimal':<12}{optimum:>12,.2f}{'':>12}")
    ranked = sorted(rows.items(), key=lambda kv: (kv[1]["cost_per_hour"] is None,
                                                  kv[1]["cost_per_hour"] or math.inf))
    for name, row in ranked:
        cost = row["cost_per_hour"]
        if cost is None:
            click.echo(f"  {name:<12}{'-':>12}{'-':>12}  {row['note']}")
        else:
            gap = f"{(cost / optimum - 1):+.1%}" if optimum > 0 else "-"
            click.echo(f"  {name:<12}{cost:>12,.2f}{gap:>12}  {row['note']}")
