"""PPO from scratch on the small scenarios against the exact optimum: one command, one table.

    .venv/bin/python -m experiments.scratch_table --out /tmp/scratch_table

For each scenario: `routelab train S --warm-start none` (the `scratch` settings of
agents/rl/hyperparams/maskable_ppo.yaml), then `routelab benchmark S` of the kept
model, `optimal` and the best heuristic on seeds 0..N-1, and the model's cost per
hour paired by seed against the optimum's (gap in %, 95% t interval of the
paired differences). Writes OUT/scratch_table.csv and prints it as Markdown.
`--set key=value` (dotted keys, YAML values) overrides a training setting, for
measuring what one change buys. Training uses one core (vec_env dummy) and takes
minutes per scenario; the figures are reported, not asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from experiments.io import write_csv
from sim.intervals import paired_interval

SCENARIOS = ("n_model", "keep_free", "w_model")
BEST_HEURISTIC = {"n_model": "cmu", "keep_free": "cmu", "w_model": "cmu_theta"}


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
              settings: list[str]) -> dict:
    from agents.rl.config import resolve_config
    from agents.rl.training import train
    from experiments.train import WARM_STARTS
    from sim.scenario import load_scenario

    spec = load_scenario(scenario)
    overrides = {"warm_start": WARM_STARTS["none"], **nested(settings)}
    config = resolve_config(spec, timesteps=timesteps, seed=seed, overrides=overrides)
    result = train(spec, config, out, log=lambda *_: None)
    return {"timesteps": config.timesteps, "train_wall_s": round(result.wall_seconds, 1),
            "kept_at": result.kept_at_timesteps,
            "best_eval_cost": round(result.best_eval_cost, 2)}


def benchmark(scenario: str, model: Path, out: Path, seeds: int) -> pd.DataFrame:
    from experiments.cli import main

    best = BEST_HEURISTIC[scenario]
    code = main(["benchmark", scenario, "--policies", f"optimal,{best},model:{model}",
                 "--seeds", str(seeds), "--workers", "1", "--out", str(out), "--quiet"])
    if code != 0:
        raise SystemExit(f"benchmark of {scenario} failed ({code})")
    runs = pd.read_csv(out / "runs.csv")
    return runs[runs["ticket_type"] == "ALL"]


def row(scenario: str, runs: pd.DataFrame) -> dict:
    best = BEST_HEURISTIC[scenario]
    cost = {policy: group.sort_values("seed")["cost_per_hour"].to_numpy()
            for policy, group in runs.groupby("policy")}
    model = next(p for p in cost if p not in ("optimal", best))
    diff, _ = paired_interval(cost[model], cost["optimal"])
    opt = float(cost["optimal"].mean())
    return {"scenario": scenario, "ppo_scratch": round(float(cost[model].mean()), 1),
            "optimal": round(opt, 1), "best_heuristic": f"{best} {cost[best].mean():.1f}",
            "gap_pct": round(100 * diff.mean / opt, 2),
            "gap_ci_pct": f"[{100 * diff.low / opt:.2f}, {100 * diff.high / opt:.2f}]",
            "seeds": diff.n}


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
        folder = args.out / scenario
        started = time.perf_counter()
        trained = train_one(scenario, folder / "model", args.seed, args.timesteps, args.settings)
        runs = benchmark(scenario, folder / "model" / "model.zip", folder / "benchmark",
                         args.seeds)
        rows.append({**row(scenario, runs), **trained,
                     "total_wall_s": round(time.perf_counter() - started, 1)})
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(table, args.out / "scratch_table.csv")
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
