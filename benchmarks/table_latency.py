"""Lookups per second through the Python table reader, on states a simulated day visits.

    python -m benchmarks.table_latency TABLE.json --scenario fintech_day [--states 20000]

States are snapshots taken at the decisions of one simulated day under the table
itself; the timed loop is `TablePolicy.decide` alone (key, dict lookup,
feasibility check, and the fallback heuristic where the key is missing).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import click

from agents.tables.document import load_table_policy
from agents.tables.policy import TablePolicy
from sim.decision import DecisionView
from sim.model import SupportModel
from sim.scenario import Scenario, load_scenario
from sim.views import StateView


def snapshot(view: DecisionView, scenario: Scenario) -> StateView:
    types, groups = scenario.type_names, scenario.group_names
    return StateView.from_mapping(scenario, {
        "now_min": view.now,
        "queue_len": {t: view.queue_length[i] for i, t in enumerate(types)},
        "head_wait_min": {t: view.head_wait(i) for i, t in enumerate(types)},
        "idle_agents": {g: view.idle_agents(i) for i, g in enumerate(groups)},
        "longest_idle_min": {g: view.longest_idle_minutes(i) for i, g in enumerate(groups)},
    })


def visited_states(policy: TablePolicy, scenario: Scenario, limit: int
                   ) -> list[tuple[StateView, list[int]]]:
    """Snapshots of the states the table is asked to decide in, seeds 0, 1, ... until `limit`."""
    states: list[tuple[StateView, list[int]]] = []

    class Snapshots:
        name, non_idling = policy.name, policy.non_idling  # the decisions the table is asked

        def reset(self, view: DecisionView, rng) -> None:
            policy.reset(view, rng)

        def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
            if len(states) < limit:
                states.append((snapshot(view, scenario), list(pairs)))
            return policy.decide(view, pairs)

    seed = 0
    while len(states) < limit and seed < 100:
        SupportModel(scenario, seed).run(Snapshots())
        seed += 1
    return states


def lookups_per_second(policy: TablePolicy, states: list[tuple[StateView, list[int]]],
                       repeat: int) -> tuple[float, float]:
    """Best-of-`repeat` rate over all states, and the share of lookups that found their key."""
    best = float("inf")
    for _ in range(repeat):
        policy.counts.lookups = policy.counts.found = policy.counts.used = 0
        started = time.perf_counter()
        for view, pairs in states:
            policy.decide(view, pairs)
        best = min(best, time.perf_counter() - started)
    return len(states) / best, policy.counts.found / max(policy.counts.lookups, 1)


@click.command()
@click.argument("table", type=click.Path(exists=True, dir_okay=False))
@click.option("--scenario", "scenario_name", required=True)
@click.option("--states", default=20_000, show_default=True, type=click.IntRange(min=1))
@click.option("--repeat", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def main(table: str, scenario_name: str, states: int, repeat: int, as_json: bool) -> None:
    """Measure lookups per second of TABLE through agents.tables.policy."""
    scenario = load_scenario(scenario_name)
    policy = load_table_policy(table, scenario)
    visited = visited_states(policy, scenario, states)
    rate, found = lookups_per_second(policy, visited, repeat)
    result = {"table": table, "scenario": scenario.name, "rows": len(policy.table.rows),
              "features": len(policy.table.feature_names), "states": len(visited),
              "lookups_per_second": round(rate), "microseconds_per_lookup": round(1e6 / rate, 2),
              "key_found": round(found, 4)}
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"{scenario.name}: {result['rows']:,} rows x {result['features']} features; "
                   f"{rate:,.0f} lookups/s ({1e6 / rate:.1f} us each) over {len(visited):,} "
                   f"visited states, {100 * found:.1f}% found their key")


if __name__ == "__main__":
    main()
