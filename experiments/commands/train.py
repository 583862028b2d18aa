"""`routelab train`: the command line only; the work is in experiments/train.py."""

from __future__ import annotations

from pathlib import Path

import click

from experiments.commands import MAX_EVALUATION_SEEDS


@click.command()
@click.argument("scenario")
@click.option("--algo", default="maskable_ppo", show_default=True,
              type=click.Choice(["maskable_ppo", "ppo", "dqn", "a2c"]),
              help="The algorithm (hyperparameters: agents/rl/hyperparams/<algo>.yaml).")
@click.option("--timesteps", default=None, type=click.IntRange(min=1, max=10**9),
              help="Env steps (decisions) to learn from [default: from the hyperparameter file].")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0, max=2**31 - 1),
              help="Seed of the training run.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: results/runs/train/<scenario>/<algo>-seed<S>].")
@click.option("--eval-seeds", default=10, show_default=True, type=click.IntRange(0, MAX_EVALUATION_SEEDS),
              help="Compare with the heuristics on simulation seeds 0..N-1 afterwards (0: skip).")
@click.option("--objective", type=click.Choice(["cost", "sla"]), default="cost", show_default=True,
              help="cost: least cost per hour. sla: least cost such that every ticket type "
                   "meets its sla_target; each missed ticket is charged a price in the reward.")
@click.option("--warm-start", "warm_start", default=None,
              type=click.Choice(["none", "heuristic", "tuned_index"]),
              help="Start PPO from scratch (none), from a clone of the best heuristic, or of "
                   "the tuned index rule [default: from the hyperparameter file].")
@click.option("--improve/--no-improve", "improve", default=None,
              help="After the warm start, rounds of rollout improvement distilled into the "
                   "network (DAgger) [default: from the hyperparameter file, on].")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local",
              show_default=True,
              help="Where rollout improvement labels its days: local processes or Ray tasks "
                   "(RAY_ADDRESS or --address, else a local Ray).")
@click.option("--address", default=None, help="Ray cluster address (with --backend ray).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(scenario: str, algo: str, timesteps: int | None, seed: int, out: Path | None,
          eval_seeds: int, objective: str, warm_start: str | None, improve: bool | None,
          backend: str, address: str | None, quiet: bool) -> None:
    """Train a policy for SCENARIO (a path or a name in scenarios/).

    Writes model.zip, config.yaml (resolved), evaluations.npz, learning_curve.png,
    evaluation.csv, comparison.csv and evaluation.png into the output folder, with
    best/ (the best model on held-out days), checkpoints/ and tensorboard/
    (`tensorboard --logdir OUT/tensorboard`).
    The model file is a pickle: load only model files you trust.
    """
    from experiments.paths import output_folder
    from experiments.train import run

    with output_folder(out):
        run(scenario=scenario, algo=algo, timesteps=timesteps, seed=seed, out=out,
            eval_seeds=eval_seeds, quiet=quiet, objective=objective, warm_start=warm_start,
            improve=improve, backend=backend, address=address)
