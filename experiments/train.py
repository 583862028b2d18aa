"""`routelab train`: learn a routing policy on one scenario, then judge it on held-out seeds.

Parse, resolve the configuration, train (agents/training.py does the work),
then simulate the model and every heuristic on seeds 0..N-1, which training
never saw, and write the tables and figures beside the model.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pandas as pd
from tqdm import tqdm

from agents.errors import PolicyError
from agents.heuristics import HEURISTICS
from agents.registry import make_policy
from experiments.errors import UserError
from experiments.io import atomic_path, write_csv
from experiments.runs import simulate_run
from experiments.stats import comparison_table
from sim.scenario import Scenario, load_scenario

WARM_STARTS = {"none": {"enabled": False}, "heuristic": {"enabled": True, "teacher": "heuristic"},
               "tuned_index": {"enabled": True, "teacher": "tuned_index"}}


def run(scenario: str, algo: str, timesteps: int | None, seed: int, out: Path | None,
        eval_seeds: int, quiet: bool, objective: str = "cost",
        warm_start: str | None = None, improve: bool | None = None, backend: str = "local",
        address: str | None = None) -> None:
    """The work of `routelab train`; its options and help: experiments/commands/train.py."""
    steps, run_seed = timesteps, seed
    spec = load_scenario(scenario)
    try:
        from agents.rl.config import resolve_config
        from agents.rl.training import train as run_training
    except ImportError as error:
        raise UserError(
            f"training needs the rl extra (pip install 'routelab[rl]'): {error}") from None
    overrides: dict = {"objective": objective}
    if warm_start is not None:
        overrides["warm_start"] = WARM_STARTS[warm_start]
    if improve is not None:
        overrides["improve"] = {"enabled": improve}
    config = resolve_config(spec, algo, timesteps=steps, seed=run_seed, overrides=overrides)
    out = out or Path("results/runs/train") / spec.name / f"{algo}-seed{run_seed}"
    click.echo(f"training {algo} on {spec.name} ({config.objective}) for "
               f"{config.timesteps:,} steps -> {out}/")
    if address is not None and backend != "ray":
        raise UserError("--address: only with --backend ray")
    if backend == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UserError("--backend ray: Ray is not installed (pip install 'routelab[ray]')"
                            ) from None
    result = run_training(spec, config, out, progress_bar=not quiet, log=click.echo,
                          backend=backend, address=address)
    judged = "cost/h + priced misses" if config.objective == "sla" else "cost/h"
    click.echo(f"trained in {result.wall_seconds / 60:.1f} min; best {judged} on the held-out "
               f"evaluation days {result.best_eval_cost:.2f}")
    teacher = result.warm_start.get("teacher")
    if teacher is not None:
        teacher = {**teacher, "improve_rounds": result.warm_start.get("improve", [])}
    learning_curve(out / "evaluations.npz", result.heuristic_costs, spec.name,
                   out / "learning_curve.png", teacher=teacher,
                   kept_at=result.kept_at_timesteps, objective=config.objective)
    if eval_seeds:
        compare(spec, out, eval_seeds, quiet)
    click.echo(f"wrote {out}/")


def compare(spec: Scenario, out: Path, seeds: int, quiet: bool) -> pd.DataFrame:
    """The model against every heuristic (and the optimum if solvable) on seeds 0..N-1."""
    specs = {"model": f"model:{out / 'model.zip'}"}
    if (out / "teacher.json").is_file():
        specs["tuned_index"] = f"index:{out / 'teacher.json'}"
    specs.update({name: name for name in HEURISTICS})
    try:
        make_policy("optimal", spec)
        specs["optimal"] = "optimal"
    except PolicyError:
        pass
    rows = []
    jobs = [(label, policy, seed) for label, policy in specs.items() for seed in range(seeds)]
    for label, policy, seed in tqdm(jobs, desc="comparing on held-out seeds", unit="run",
                                    disable=quiet, leave=False):
        rows.append(simulate_run(spec, policy, seed, label=label, keep_tickets=False).summary)
    summary = pd.concat(rows, ignore_index=True)
    runs = summary[summary["ticket_type"] == "ALL"].reset_index(drop=True)
    table = comparison_table(runs, frozenset(HEURISTICS) - {"random"})
    write_csv(runs, out / "evaluation.csv")
    write_csv(summary[summary["ticket_type"] != "ALL"], out / "by_type.csv")
    write_csv(table, out / "comparison.csv")
    sla_lines(spec, table, summary)
    from experiments.plots import cost_figure

    cost_figure(table, spec.name, out / "evaluation.png")
    model_row = table[table["policy"] == "model"].iloc[0]
    click.echo(f"model vs best heuristic ({model_row['best_heuristic']}) over {seeds} seeds: "
               f"{model_row['cost_diff_vs_best']:+.2f} cost/h "
               f"[{model_row['cost_diff_ci_low']:+.2f}, {model_row['cost_diff_ci_high']:+.2f}] "
               f"({model_row['cost_diff_pct']:+.2f}%)")
    return table


def sla_lines(spec: Scenario, table: pd.DataFrame, summary: pd.DataFrame) -> None:
    """Total shortfall and cost of the model, the teacher and the heuristics that matter."""
    from experiments.recommend import standings, targets_of

    targets = targets_of(spec.content())
    if not targets:
        return
    costs = dict(zip(table["policy"], table["cost_per_hour"], strict=True))
    ranked = standings(costs, summary[summary["ticket_type"] != "ALL"], targets)
    by_name = {s.policy: s for s in ranked}
    heuristics = [s for s in ranked if s.policy in HEURISTICS and s.policy != "random"]
    least = min(heuristics, key=lambda s: (s.shortfall, s.cost_per_hour))
    cheapest = min(heuristics, key=lambda s: s.cost_per_hour)
    for name in ("model", "tuned_index"):
        if name in by_name:
            mine = by_name[name]
            click.echo(f"{name}: total shortfall {mine.shortfall:.3f} (least among heuristics: "
                       f"{least.policy} {least.shortfall:.3f}); cost/h {mine.cost_per_hour:.2f} "
                       f"({100 * (mine.cost_per_hour / cheapest.cost_per_hour - 1):+.1f}% "
                       f"against the cheapest heuristic, {cheapest.policy})")
    click.echo(f"recommended (cheapest meeting every target, else least short): "
               f"{ranked[0].policy}")


def learning_curve(npz: Path, heuristic_costs: dict[str, float], scenario: str, path: Path, *,
                   teacher: dict | None = None, kept_at: int | None = None,
                   objective: str = "cost") -> None:
    """Mean cost per hour on the evaluation days against env steps, heuristics as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = np.load(npz)
    steps, costs = log["timesteps"], np.asarray(log["cost_per_hour"], dtype=float)
    figure, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    ax.plot(steps, costs.mean(axis=1), "o-", color="#1f77b4", label="learned (deterministic)")
    rounds = [r for r in (teacher or {}).get("improve_rounds", []) if r.get("kept")]
    if len(steps):
        start = "the teacher's clone" + (f" + {len(rounds)} kept round(s) of rollout improvement"
                                          if rounds else "")
        ax.annotate(f"start: {start}", (steps[0], costs[0].mean()), textcoords="offset points",
                    xytext=(4, 12), fontsize=8, color="#1f77b4",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    if kept_at is not None and kept_at in list(steps):
        kept = list(steps).index(kept_at)
        ax.plot([kept_at], [costs[kept].mean()], "*", ms=16, color="#1f77b4",
                label="kept model (model.zip)")
    priced = objective == "sla"  # the curve is cost + priced misses: heuristics' cost differs
    if teacher and teacher.get("rule") == "tuned_index" and not priced:
        ax.axhline(teacher["eval_days_cost_per_hour"], ls=":", lw=1.5, color="#2ca02c",
                   label="tuned index rule (warm-start teacher)")
    for rank, (name, cost) in enumerate(list(heuristic_costs.items())[:0 if priced else 3]):
        ax.axhline(cost, ls="--", lw=1, color=("#d62728", "#ff7f0e", "#7f7f7f")[rank],
                   label=f"{name} (heuristic)")
    ax.set_xlabel("env steps (decisions)")
    ax.set_ylabel("cost per hour + missed tickets x their price" if priced else
                  "cost per hour, mean over the evaluation days")
    ax.set_title(f"{scenario}: learning curve on {costs.shape[1]} held-out days", loc="left")
    ax.grid(alpha=0.3)
    ax.legend()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, format="png")
    plt.close(figure)
