"""`make demo`: the main job on the shipped default scenario, end to end.

Simulates every heuristic on scenarios/fintech_day.yaml over a few seeds and
prints the comparison; later stages (benchmark report, training, export) run
when their modules are present.
"""

from __future__ import annotations

import sys

import pandas as pd

from agents.heuristics import HEURISTICS
from experiments.runs import simulate_run
from experiments.terminal import print_summary
from sim.scenario import load_scenario

SCENARIO = "fintech_day"
SEEDS = 3


def main() -> int:
    scenario = load_scenario(SCENARIO)
    rows = [simulate_run(scenario, name, seed, keep_tickets=False).summary
            for name in HEURISTICS for seed in range(SEEDS)]
    summary = pd.concat(rows, ignore_index=True)
    overall = summary[summary.ticket_type == "ALL"]
    print_summary(overall, title=f"{SCENARIO}: every heuristic, mean of {SEEDS} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
