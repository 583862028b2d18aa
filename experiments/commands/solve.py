"""`routelab solve`: the command line only; the work is in experiments/solve.py."""

from __future__ import annotations

import click

from agents.exact import MAX_STATES


@click.command()
@click.argument("scenario")
@click.option("--json", "as_json", is_flag=True, help='Print only {"cost_per_hour": ..., ...}.')
@click.option("--heuristics/--no-heuristics", default=True, show_default=True,
              help="Also evaluate the state-based heuristics exactly in the same MDP.")
@click.option("--max-states", default=MAX_STATES, show_default=True,
              type=click.IntRange(min=1), help="Refuse scenarios whose MDP is larger.")
def solve(scenario: str, as_json: bool, heuristics: bool, max_states: int) -> None:
    """Solve SCENARIO exactly (exponential times, constant rates, a few agents).

    Relative value iteration on the uniformised MDP of (queue lengths, busy
    agents per group and type) gives the optimal long-run cost per hour, the
    same quantity `routelab simulate --policy optimal` measures over long
    horizons. The solved policy is cached for `--policy optimal` in
    results/runs/cache/optimal (ROUTELAB_CACHE_DIR moves it; `off`: no cache).
    """
    from experiments.solve import run

    run(scenario=scenario, as_json=as_json, heuristics=heuristics, max_states=max_states)
