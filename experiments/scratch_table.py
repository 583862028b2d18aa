"""PPO from scratch on the small scenarios against the exact optimum: one command, one table.

    .venv/bin/python -m experiments.scratch_table --out /tmp/scratch_table

For each scenario: `routelab train S --warm-start none` (the `scratch` settings of
agents/rl/hyperparams/maskable_ppo.yaml), then the comparison `routelab train`
itself makes on seeds 0..N-1 (the model, every heuristic and `optimal`), and
the rows of experiments/learning_table.py: cost per hour and the paired
difference (95% t interval) against the optimum and the best heuristic.
Writes OUT/scratch_table.csv and prints it as Markdown. `--set key=value`
(dotted keys, YAML values) overrides a training setting, for measuring what
one change buys; that is what this script adds to learning_table.py. Training
uses one core (vec_env dummy) and takes minutes per scenario; the figures are
reported, not asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from experiments.io import write_csv
from experiments.learning_table import markdown, run_rows

SCENARIOS = ("n_model", "keep_free", "w_model")


def nested(settings: list[str]) -> dict:
    """`a.b=1` strings as {"a": {"b": 1}} (values read as YAML)."""
    out: dict = {}
    for item in settings:
        key, _, value = item.partition("=")
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return out


def train_one(scenario: str, out: Path, seed: int, timesteps: int | None,
              settings: list[str], seeds: int) -> dict:
    """Train from scratch into `out`, compare on seeds 0..seeds-1; the run's facts."""
    from agents.rl.config import resolve_config
    from agents.rl.training import train
    from experiments.train import WARM_STARTS, compare
    from sim.scenario import load_scenario

    spec = load_scenario(scenario)
    overrides = {"warm_start": WARM_STARTS["none"], **nested(settings)}
    config = resolve_config(spec, timesteps=timesteps, seed=seed, overrides=overrides)
    result = train(spec, config, out, log=lambda *_: None)
    compare(spec, out, seeds, quiet=True)
    return {"timesteps": config.timesteps, "train_wall_s": round(result.wall_seconds, 1),
            "kept_at": result.kept_at_timesteps,
            "best_eval_cost": round(result.best_eval_cost, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--timesteps", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=10, help="evaluation seeds 0..N-1")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        help="override a training setting: dotted.key=value (YAML)")
    args = parser.parse_args(argv)
    rows = []
    for scenario in args.scenarios.split(","):
        folder = args.out / scenario / "model"
        started = time.perf_counter()
        trained = train_one(scenario, folder, args.seed, args.timesteps, args.settings,
                            args.seeds)
        ran = run_rows(folder)
        ran[0].update(trained, total_wall_s=round(time.perf_counter() - started, 1))
        rows += ran
        print(markdown(pd.DataFrame(ran)), flush=True)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(table, args.out / "scratch_table.csv")
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
