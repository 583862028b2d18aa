"""Train an SB3 policy on one scenario: resolve the configuration, warm start, learn, save.

The hyperparameters live in agents/hyperparams/<algo>.yaml, one block per
scenario name over a `default` block. `resolve_config` reads and validates
them once into a frozen `TrainConfig`; `train` builds everything from it and
writes the model, the resolved configuration and the evaluation log into one
folder. torch is imported in agents/rl/ only.

Notes on the choices (measurements in the train report of this change):

- Discounting is by elapsed simulated time, not per decision. The time
  between real choices on fintech_day runs from 0.33 min (10:00, the card
  incident) to 9.5 min (midnight); a per-decision gamma therefore means a
  horizon of minutes at the peak and of hours at night, while the effects of
  a routing choice (a service, a caller's patience) last about as long in
  minutes at any hour. The on-policy buffers discount step k by
  0.5 ** (minutes_k / half_life) in GAE (agents/rl/discount.py). DQN keeps
  SB3's constant gamma, matched to the mean step.
- The end of the day is terminal for learning (the env says truncated, as the
  contract wants): after the drain nothing costs anything, so bootstrapping
  from a value there would only add error.
- Warm start: the actor clones a teacher, the critic fits the teacher's
  discounted cost-to-go on the same days, driven with the same exploration
  (label smoothing) the clone will use, so PPO starts from a calibrated
  critic. The teacher is an index rule tuned on training days
  (agents/rl/teacher.py), which beats every fixed heuristic on fintech_day.
- Objective sla: the teacher is tuned for cost subject to the service-level
  targets (agents/index/tune.py, dual ascent), and the prices it ends with
  (one per ticket type, per missed ticket) are charged in the reward and in
  the demonstrations' returns (agents/rl/envs.py `SlaPenalty`); models are
  then judged on the held-out days by cost plus priced misses.
- Rollout improvement (agents/rl/dagger.py) then takes the network past its
  teacher: rollouts of the teacher label the states the network visits, the
  actor is fitted to the labels several ways and keeps the fit cheapest on
  selection days, and a round is kept only if it is cheaper on other
  held-out days by a paired interval below zero. Where it runs, the network
  sees the teacher's choice from the warm start on (`hint_rule`), so the
  clone is exact and what is learnt is where to leave the teacher.
- PPO fine-tuning rarely beats its start within the budget (advantage
  noise from the day's randomness swamps the value of single decisions), so
  the kept model is the start unless a later checkpoint is cheaper on
  the held-out evaluation days by a paired test (agents/rl/callbacks.py).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.rl.config import (
    ACTOR_CRITIC,
    LONG_DAY_HOURS,
    MASKED,
    ON_POLICY,
    RANKED_HEURISTICS,
    TrainConfig,
)
from agents.rl.teacher import (
    hint_record,
    hint_rule,
    improve_network,
    sla_record,
    teacher_record,
    tune_teacher,
)
from sim.atomic import write_atomic, write_text
from sim.env import action_names
from sim.observation import ObservationBuilder
from sim.scenario import Scenario
from sim.seeds import held_out_days, training_days

# -- the run ------------------------------------------------------------------------


@dataclass
class TrainResult:
    out: Path
    config: TrainConfig
    heuristic_costs: dict[str, float]
    """Mean cost_per_hour of each heuristic on the evaluation days, best first."""
    warm_start: dict[str, Any]
    best_eval_cost: float
    wall_seconds: float
    learn_seconds: float
    env_seconds: float
    """Wall time inside the training envs' step/reset, summed over envs."""
    learn_cpu_seconds: float
    """CPU time of learning: this process and the env workers (evaluation included)."""
    env_cpu_seconds: float
    """CPU time inside the training envs' step/reset, summed over envs."""
    eval_steps: float
    """Env steps spent in evaluations (not counted in timesteps)."""
    kept_at_timesteps: int = 0
    """Training step of the kept model (0: the warm start)."""
    eval_env_cpu_seconds: float = 0.0
    """CPU time inside the evaluation env (in this process)."""


def train(scenario: Scenario, config: TrainConfig, out: Path, *, progress_bar: bool = False,
          verbose: int = 0, log=print, backend: str = "local",
          address: str | None = None) -> TrainResult:
    """Warm start, learn, and write model.zip, config.yaml and evaluations.npz into `out`.

    `backend` and `address` say where the rollout improvement labels its days
    (agents/parallel.py): local processes or Ray.
    """
    import torch as th

    started = time.perf_counter()
    th.set_num_threads(1)
    th.distributions.Distribution.set_default_validate_args(False)  # a third of a forward pass
    out.mkdir(parents=True, exist_ok=True)
    eval_days = held_out_days(config.evaluation.days)
    _say_long_days(scenario, config, log)

    # -- the heuristics, the teacher and its demonstrations ----------------------------
    costs = _rank_heuristics(scenario, eval_days, log, progress_bar)
    best = next(iter(costs))
    teaching = config.warm_start.enabled and config.algo in ACTOR_CRITIC
    tuned = tune_teacher(scenario, config, out, log, progress_bar) if config.objective == "sla" or (
        teaching and config.warm_start.teacher == "tuned_index") else None
    prices = tuned.multipliers if config.objective == "sla" and tuned is not None else None
    hint = hint_rule(config, teaching, tuned, best)
    config, demos = _demonstrations(scenario, config, best, tuned if teaching else None,
                                    teaching, prices, log, progress_bar, hint is not None)

    # -- the envs, the model and its warm start ----------------------------------------
    from agents.rl.scratch import standardized

    config = standardized(config, demos.obs)  # if it asks for standardised features
    venv, eval_env = _envs(scenario, config, eval_days, prices, hint)
    model = build_model(config, venv, out / "tensorboard")
    report: dict[str, Any] = {}
    if teaching:
        report = _warm_start(model, demos, config, "the tuned index rule" if tuned else best, log,
                             progress_bar)
        report["teacher"] = teacher_record(scenario, tuned, best, costs, eval_days)
        if config.improve.enabled and config.objective == "sla":
            log("rollout improvement skipped: its look-ahead does not price missed targets")
        elif config.improve.enabled:
            report["improve"] = improve_network(model, scenario, config, tuned, best, log,
                                                progress_bar, backend, address, out,
                                                hint=hint is not None)
    if prices is not None:
        report["sla"] = sla_record(scenario, tuned)
    _save_config(out / "config.yaml", scenario, config, costs, report, hint=hint)

    # -- learning, then the kept model --------------------------------------------------
    evaluation, callbacks = _callbacks(config, eval_env, out, verbose, teaching)
    learn_started, cpu_started = time.perf_counter(), _cpu_seconds()
    model.learn(config.timesteps, callback=callbacks, progress_bar=progress_bar,
                tb_log_name=config.algo)
    learn_seconds = time.perf_counter() - learn_started
    env_seconds = float(sum(venv.get_attr("step_seconds")))
    env_cpu = float(sum(venv.get_attr("step_cpu_seconds")))
    eval_env_cpu = float(sum(eval_env.get_attr("step_cpu_seconds")))
    write_atomic(out / "last_model.zip", model.save)  # a killed run leaves no half a model
    best_zip = out / "best" / "best_model.zip"
    kept = best_zip if best_zip.exists() else out / "last_model.zip"
    write_atomic(out / "model.zip", lambda tmp: shutil.copyfile(kept, tmp))
    venv.close()  # joins the workers, so their CPU time is counted below
    eval_env.close()
    result = TrainResult(out, config, costs, report, float(evaluation.best_cost),
                         time.perf_counter() - started, learn_seconds, env_seconds,
                         _cpu_seconds() - cpu_started, env_cpu,
                         float(np.sum(evaluation.evaluations_length)),
                         int(evaluation.best_timesteps), eval_env_cpu)
    _save_config(out / "config.yaml", scenario, config, costs, report, result, hint=hint)
    return result


def _say_long_days(scenario: Scenario, config: TrainConfig, log) -> None:
    if scenario.horizon_hours <= LONG_DAY_HOURS:
        return
    ws, im = config.warm_start, config.improve
    log(f"days of {scenario.horizon_hours:g} h count as {scenario.horizon_hours / LONG_DAY_HOURS:g}"
        f" days of {LONG_DAY_HOURS:g} h: tuning on {ws.tune_days}, demonstrations on {ws.days},"
        f" evaluation on {config.evaluation.days}, rollout labels on {im.days} per round"
        f" (their first {LONG_DAY_HOURS:g} h), judging on {im.eval_days}")


def _rank_heuristics(scenario: Scenario, eval_days: list[int], log,
                     progress: bool) -> dict[str, float]:
    from agents.evaluation import simulated_costs

    log(f"ranking heuristics on {len(eval_days)} held-out days ...")
    costs = simulated_costs(scenario, eval_days, RANKED_HEURISTICS, progress=progress)
    log("  " + ", ".join(f"{k} {v:.1f}" for k, v in costs.items()))
    return costs


def _demonstrations(scenario: Scenario, config: TrainConfig, best: str, tuned, teaching: bool,
                    prices, log, progress: bool, hint: bool = False):
    """The teacher's days (the best heuristic's if not teaching: for the reward scale)."""
    from agents.rl.warmstart import demonstrate

    ws = config.warm_start

    def collect():
        return demonstrate(scenario, best, training_days(config.seed, ws.days),
                           explore=ws.smoothing if teaching else 0.0,
                           work_conserving=config.work_conserving, seed=config.seed,
                           weights=tuned.weights if tuned else None,
                           reserve=tuned.reserve if tuned else None,
                           keep_free=tuned.keep_free if tuned else None, workers=config.n_envs,
                           multipliers=prices, progress=progress, hint=hint)

    demos = collect()
    if config.work_conserving and len(demos.actions) == 0:
        # One group, or one type per group: a work-conserving policy has nothing to choose,
        # so the only decision left to learn is whether to hold.
        log(f"{scenario.name}: no choices when work-conserving; training with HOLD allowed")
        config = replace(config, work_conserving=False)
        demos = collect()
    return _resolve_auto(config, best, demos), demos


def _envs(scenario: Scenario, config: TrainConfig, eval_days: list[int], prices, hint=None):
    from agents.rl.envs import env_factory, make_vec_env

    env_kwargs = dict(fallback=_fallback_name(config), reward_scale=config.reward_scale,
                      work_conserving=config.work_conserving, multipliers=prices, hint=hint)
    venv = make_vec_env([env_factory(scenario, **env_kwargs) for _ in range(config.n_envs)],
                        config.vec_env)
    eval_env = make_vec_env([env_factory(scenario, **env_kwargs, eval_days=eval_days)], "dummy")
    return venv, eval_env


def _warm_start(model, demos, config: TrainConfig, source: str, log,
                progress: bool) -> dict[str, Any]:
    from agents.rl.warmstart import clone

    ws = config.warm_start
    report = clone(model, demos, _demo_returns(demos, config), masked=config.algo in MASKED,
                   epochs=ws.epochs, batch_size=ws.batch_size, learning_rate=ws.learning_rate,
                   smoothing=ws.smoothing, seed=config.seed, progress=progress)
    log(f"warm start from {source} ({len(demos.actions)} decisions): "
        f"agreement {report['agreement']:.3f}, "
        f"value explained variance {report['value_explained_variance']:.2f}")
    return report


def _callbacks(config: TrainConfig, eval_env, out: Path, verbose: int, teaching: bool = True):
    from stable_baselines3.common.callbacks import CheckpointCallback

    from agents.rl.callbacks import DayCostEvalCallback
    from agents.rl.discount import RecordElapsed

    per_env = max(1, config.n_envs)
    evaluation = DayCostEvalCallback(
        eval_env, use_masking=config.algo in MASKED, n_eval_episodes=config.evaluation.days,
        eval_freq=max(1, config.evaluation.every // per_env), log_path=str(out),
        best_model_save_path=str(out / "best"), deterministic=True, verbose=verbose, warn=False,
        # No warm start to protect: keep the evaluated checkpoint with the lowest mean cost.
        replace_level=0.05 if teaching else 1.0)
    callbacks = [evaluation, CheckpointCallback(max(1, config.checkpoint_every // per_env),
                                                str(out / "checkpoints"), name_prefix="model")]
    if config.discount.mode == "elapsed":
        callbacks.insert(0, RecordElapsed())
    return evaluation, callbacks


def _cpu_seconds() -> float:
    """CPU time of this process plus its finished children (the joined env workers)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build_model(config: TrainConfig, venv, tensorboard_log: Path | None):
    """The SB3 algorithm object for a configuration (untrained)."""
    from agents.rl.discount import TimedMaskableRolloutBuffer, TimedRolloutBuffer
    from agents.rl.scratch import algo_kwargs, policy_kwargs

    kwargs = algo_kwargs(config.algo_kwargs)
    if config.algo in ON_POLICY:
        kwargs["gamma"] = float(config.discount.gamma)
        if config.discount.mode == "elapsed":
            kwargs["rollout_buffer_class"] = (TimedMaskableRolloutBuffer if config.algo in MASKED
                                              else TimedRolloutBuffer)
            kwargs["rollout_buffer_kwargs"] = {
                "half_life_minutes": config.discount.half_life_minutes}
            if config.discount.average_cost:  # relative values (agents/rl/discount.py)
                kwargs["rollout_buffer_kwargs"].update(
                    average_cost=True,
                    average_cost_smoothing=config.discount.average_cost_smoothing)
    else:
        kwargs["gamma"] = float(config.discount.gamma)
    return algorithm_class(config.algo)(
        "MlpPolicy", venv, seed=config.seed, device="cpu", verbose=0,
        tensorboard_log=str(tensorboard_log) if tensorboard_log else None,
        policy_kwargs=policy_kwargs(config.policy_kwargs) or None, **kwargs)


def algorithm_class(algo: str):
    if algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    import stable_baselines3

    return {"ppo": stable_baselines3.PPO, "a2c": stable_baselines3.A2C,
            "dqn": stable_baselines3.DQN}[algo]


def _fallback_name(config: TrainConfig) -> str | None:
    return None if config.fallback == "builtin" else config.fallback


def _resolve_auto(config: TrainConfig, best: str, demos) -> TrainConfig:
    """Fill `best`, `auto` gamma and `auto` reward scale from the best heuristic's days."""
    from agents.rl.discount import step_discount

    discount = config.discount
    mean_gamma = float(np.mean(step_discount(demos.elapsed, discount.half_life_minutes)))
    if discount.gamma == "auto":
        discount = replace(discount, gamma=round(mean_gamma, 6))
    config = replace(config, discount=discount,
                     fallback=best if config.fallback == "best" else config.fallback)
    if config.reward_scale == "auto":
        horizon_gamma = mean_gamma if discount.mode == "elapsed" else float(discount.gamma)
        mean_cost = max(float(-np.mean(demos.rewards)), 1e-9)
        config = replace(config, reward_scale=float(f"{(1 - horizon_gamma) / mean_cost:.4g}"))
    return config


def _demo_returns(demos, config: TrainConfig) -> np.ndarray:
    if config.discount.mode == "elapsed":
        return demos.returns(config.reward_scale,
                             half_life_minutes=config.discount.half_life_minutes)
    return demos.returns(config.reward_scale, gamma=float(config.discount.gamma))


def _save_config(path: Path, scenario: Scenario, config: TrainConfig, costs: dict[str, float],
                 warm_start: dict[str, Any], result: TrainResult | None = None, *,
                 hint=None) -> None:
    document: dict[str, Any] = {
        "format": "routelab-train-config", "version": 1,
        "scenario_sha256": scenario.sha256(),
        **config.to_dict(),
        "env": {"id": "routelab/SupportQueue-v0",
                "fallback": _fallback_name(config),
                "reward_scale": config.reward_scale,
                "work_conserving": config.work_conserving,
                "features": ObservationBuilder(scenario, hint).names,
                **({"hint": hint_record(hint, next(iter(costs)))} if hint is not None else {}),
                "actions": action_names(scenario)},
        "heuristics_on_eval_days": {k: round(v, 4) for k, v in costs.items()},
        "warm_start_fit": {k: round(v, 4) if isinstance(v, float) else v
                           for k, v in warm_start.items()},
    }
    if result is not None:
        document["result"] = {
            "best_eval_cost_per_hour": round(result.best_eval_cost, 4),
            "kept_model_at_timesteps": result.kept_at_timesteps,
            "wall_seconds": round(result.wall_seconds, 1),
            "learn_seconds": round(result.learn_seconds, 1),
            "env_seconds": round(result.env_seconds, 1),
            "learn_cpu_seconds": round(result.learn_cpu_seconds, 1),
            "env_cpu_seconds": round(result.env_cpu_seconds, 1),
            "eval_steps": int(result.eval_steps),
            "steps_per_second": round(config.timesteps / max(result.learn_seconds, 1e-9), 1),
            "eval_env_cpu_seconds": round(result.eval_env_cpu_seconds, 1),
            "env_share_of_cpu": round((result.env_cpu_seconds + result.eval_env_cpu_seconds)
                                      / max(result.learn_cpu_seconds, 1e-9), 3),
        }
    _write_yaml(document, path)


def _write_yaml(document: dict[str, Any], path: Path) -> None:
    write_text(yaml.safe_dump(document, sort_keys=False), path)
