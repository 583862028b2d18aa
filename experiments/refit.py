"""Refit a run's rollout labels offline with several margins, each judged against its teacher.

    python -m experiments.refit RUN_DIR [--margins 0.05,0.1,0.15] [--rows N] [--choice]
        [--days 100] [--first-day 1200] [--seed 0] [--scenario FILE]

RUN_DIR is a `routelab train` folder with improve_labels.npz, teacher.json
and config.yaml. For every margin the actor is fitted afresh to the labels'
advantages (agents/rl/fits.py `fit_advantages`, the default learner's fit),
then drives `--days` held-out days from seed `--first-day` on, paired with
the tuned index rule on the same days. The default days 1200..1299 are used
by nothing in training (evaluation 1000.., judging 1000..1099, margin
selection 1100..1129). `--rows N` uses only the first N labels (the first
round's, say: the training log gives each round's count). Prints one
Markdown row per margin; docs/learning.md quotes these.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import yaml

from agents.index.rule import load_index_rule
from agents.parallel import Pool
from agents.rl.student import Actor, Labels, judge_day
from sim.intervals import paired_interval
from sim.scenario import load_scenario
from sim.seeds import HELD_OUT_BASE


def refit(run: Path, margins: list[float], *, rows: int | None, days: int, first_day: int,
          seed: int, workers: int = 2, choice: bool = False,
          scenario_path: str | None = None) -> list[dict[str, float]]:
    """One record per margin: how often the fit leaves the teacher, its cost and the paired gap.

    With `choice`, one record more (margin NaN): the actor of the run's model.zip
    fitted to the expert's choices (`fit_choices`, the `fit: choice` method); that
    is the round's starting point only if the run kept no round (its clone).
    `scenario_path` is the scenario file when it is not a shipped one.
    """
    import torch as th
    from sb3_contrib import MaskablePPO

    from agents.rl.fits import fit_advantages, fit_choices
    from agents.rl.model_policy import load_model_policy
    from sim.env import SupportQueueEnv

    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    scenario = load_scenario(scenario_path or config["scenario"])
    teacher = load_index_rule(run / "teacher.json", scenario)
    saved = np.load(run / "improve_labels.npz")
    labels = Labels(*(saved[f][:rows] for f in ("obs", "masks", "own", "expert", "advantage")))
    hint = (config.get("env") or {}).get("hint") is not None
    conserving = bool(config.get("work_conserving", False))
    arch = (config.get("policy_kwargs") or {}).get("net_arch")
    th.set_num_threads(1)
    model = MaskablePPO("MlpPolicy", SupportQueueEnv(scenario, hint=teacher if hint else None),
                        seed=seed, device="cpu", policy_kwargs={"net_arch": arch} if arch else None)
    day_seeds = list(range(first_day, first_day + days))
    with Pool(workers, days) as pool:
        base = [r.cost_per_hour for r in pool.map(
            judge_day, [(scenario, d, None, teacher, conserving, False) for d in day_seeds])]
        records = []
        for margin in [*margins, *([math.nan] if choice else [])]:
            if math.isnan(margin):
                trained = load_model_policy(run / "model.zip", scenario, force=True).model
                model.policy.load_state_dict(trained.policy.state_dict())
                fit = fit_choices(model.policy, labels, epochs=60, batch_size=256,
                                  learning_rate=1e-3, seed=seed)
            else:
                fit = fit_advantages(model.policy, labels, margin=margin, epochs=60,
                                     batch_size=256, learning_rate=1e-3, seed=seed)
            actor = Actor.of(model.policy)
            costs = [r.cost_per_hour for r in pool.map(
                judge_day, [(scenario, d, actor, teacher, conserving, hint) for d in day_seeds])]
            gap, _ = paired_interval(costs, base)
            records.append({"margin": margin,
                            "leaves_teacher": fit.get("leaves_base", math.nan),
                            "follows_overrules": fit.get("agrees_where_overruled", math.nan),
                            "cost_per_hour": float(np.mean(costs)),
                            "teacher_cost_per_hour": float(np.mean(base)), "diff": gap.mean,
                            "diff_low": gap.low, "diff_high": gap.high})
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--margins", default="0.05,0.1,0.15")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--first-day", type=int, default=HELD_OUT_BASE + 200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", default=None,
                        help="the scenario file, if the run's is not a shipped one")
    parser.add_argument("--choice", action="store_true",
                        help="also refit the run's model to the expert's choices")
    args = parser.parse_args(argv)
    margins = [float(m) for m in args.margins.split(",")]
    records = refit(args.run, margins, rows=args.rows, days=args.days,
                    first_day=args.first_day, seed=args.seed, choice=args.choice,
                    scenario_path=args.scenario)
    print("| fit | leaves the teacher | learner − teacher, cost/h |")
    print("|---|---|---|")
    for r in records:
        gap = f"{r['diff']:+.2f} [{r['diff_low']:+.2f}, {r['diff_high']:+.2f}]"
        if math.isnan(r["margin"]):
            print(f"| the expert's choices | follows {r['follows_overrules']:.0%} of its "
                  f"overrules | {gap} |")
        else:
            print(f"| advantages, margin {r['margin']:g} | on {r['leaves_teacher']:.1%} of "
                  f"states | {gap} |")


if __name__ == "__main__":
    main()
