"""The learners against their teacher, the heuristics and the optimum, from `routelab train` folders.

    python -m experiments.learning_table RUN_DIR [RUN_DIR ...] [--out results/learning]
    python -m experiments.learning_table --train fintech_day,retail_bank_day,n_model,keep_free,w_model \
        --scratch n_model,keep_free,w_model          (`make learning`: the trainings first)

With --train / --scratch it first runs `routelab train S --out RUNS/S` (the
default learner) and `routelab train S --warm-start none --out RUNS/S-scratch`
(PPO from scratch) for each scenario, RUNS being --runs-dir (results/runs/learning,
ignored by git); the shipped table's runs took 79 min of training in all on two cores.

Each RUN_DIR is the output of one `routelab train` run (with --eval-seeds N):
its evaluation.csv holds, per seed 0..N-1, the model, the tuned index rule
(`tuned_index`, where the run tuned one), every heuristic and, where the
solver applies, `optimal`. For every run this writes one row per policy: cost
per hour and the paired difference (95% t interval over the seeds) against
the optimum, the tuned index rule and the best heuristic, with the command
that reproduces the run. Output: learning.csv and learning.md in --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from agents.heuristics import HEURISTICS
from experiments.io import write_csv
from sim.atomic import write_text
from sim.intervals import paired_interval

LEARNER = {True: "default learner", False: "PPO from scratch"}


def run_rows(run: Path) -> list[dict]:
    """The rows of one training run."""
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    runs = pd.read_csv(run / "evaluation.csv")
    costs = runs.pivot(index="seed", columns="policy", values="cost_per_hour")
    scenario = config["scenario"]
    warm = bool(config["warm_start"]["enabled"])
    improved = bool((config.get("improve") or {}).get("enabled", False))
    learner = LEARNER[warm] if improved or not warm else "warm start + PPO"
    heuristics = [h for h in HEURISTICS if h != "random" and h in costs]
    best = min(heuristics, key=lambda h: costs[h].mean())
    command = f"routelab train {scenario}" + ("" if warm else " --warm-start none")
    result = config.get("result") or {}
    rows = []
    for policy, label in (("model", learner), ("tuned_index", "tuned index rule"),
                          (best, f"best heuristic ({best})"), ("optimal", "exact optimum")):
        if policy not in costs:
            continue
        row = {"scenario": scenario, "policy": label, "seeds": len(costs),
               "cost_per_hour": costs[policy].mean()}
        for against, name in (("optimal", "optimum"), ("tuned_index", "tuned"), (best, "best")):
            if against in costs and against != policy:
                interval, _ = paired_interval(costs[policy].to_numpy(), costs[against].to_numpy())
                row[f"vs_{name}"] = interval.mean
                row[f"vs_{name}_low"], row[f"vs_{name}_high"] = interval.low, interval.high
                row[f"vs_{name}_pct"] = 100 * interval.mean / costs[against].mean()
        if policy == "model":
            row["train_minutes"] = round(result.get("wall_seconds", float("nan")) / 60, 1)
            row["command"] = command
        rows.append(row)
    return rows


def markdown(table: pd.DataFrame) -> str:
    lines = ["| scenario | policy | cost/h | vs optimum | vs tuned index rule | "
             "vs best heuristic | training | command |", "|---" * 8 + "|"]

    def cell(row: pd.Series, name: str) -> str:
        if pd.isna(row.get(f"vs_{name}")):
            return ""
        return (f"{row[f'vs_{name}']:+.2f} [{row[f'vs_{name}_low']:+.2f}, "
                f"{row[f'vs_{name}_high']:+.2f}] ({row[f'vs_{name}_pct']:+.2f}%)")

    for _, row in table.iterrows():
        minutes = "" if pd.isna(row.get("train_minutes")) else f"{row['train_minutes']:.1f} min"
        command = "" if pd.isna(row.get("command")) else f"`{row['command']}`"
        lines.append(f"| {row['scenario']} | {row['policy']} | {row['cost_per_hour']:.2f} | "
                     f"{cell(row, 'optimum')} | {cell(row, 'tuned')} | {cell(row, 'best')} | "
                     f"{minutes} | {command} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--train", default="", help="scenarios to train the default learner on")
    parser.add_argument("--scratch", default="", help="scenarios to train PPO from scratch on")
    parser.add_argument("--runs-dir", type=Path, default=Path("results/runs/learning"))
    parser.add_argument("--out", type=Path, default=Path("results/learning"))
    args = parser.parse_args(argv)
    runs = list(args.runs)
    from experiments.cli import main as routelab

    for names, suffix, extra in ((args.train, "", []),
                                 (args.scratch, "-scratch", ["--warm-start", "none"])):
        for name in filter(None, names.split(",")):
            out = args.runs_dir / f"{name}{suffix}"
            command = ["train", name, "--out", str(out), "--eval-seeds", "10", "--quiet", *extra]
            print("routelab " + " ".join(command), flush=True)
            if routelab(command) != 0:
                raise SystemExit(f"routelab {' '.join(command)} failed")
            runs.append(out)
    if not runs:
        parser.error("give training folders, or --train / --scratch scenarios")
    rows = [row for run in runs for row in run_rows(run)]
    table = pd.DataFrame(rows).drop_duplicates(["scenario", "policy"])
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(table, args.out / "learning.csv")
    write_text(markdown(table), args.out / "learning.md")
    print(markdown(table))


if __name__ == "__main__":
    main()
