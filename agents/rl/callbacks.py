"""Evaluation during training: the same held-out days every time, judged by cost per hour."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback
from sb3_contrib.common.maskable.evaluation import evaluate_policy as evaluate_masked
from stable_baselines3.common.evaluation import evaluate_policy


class DayCostEvalCallback(MaskableEvalCallback):
    """MaskableEvalCallback (EvalCallback without masks) that keeps the cheapest policy.

    Before every evaluation the eval env is rewound to its first held-out day
    (a `FixedDays` wrapper), so all evaluations see the same days and their
    differences are the policy's, not the days'. Policies are judged by the
    mean `cost_per_hour` (counted tickets, as summary.csv; with objective sla the
    Lagrangian `objective_cost_per_hour`, misses priced), not by reward,
    which also counts the warm-up. The policy is evaluated before training
    too, so the warm start is the first kept model; a later one replaces the
    kept one only if it is cheaper on the same days by a one-sided paired t
    test at level `replace_level` (without that, the kept model would mostly
    be the luckiest of many noisy evaluations, not the best).
    `evaluations.npz` gets a `cost_per_hour` array beside SB3's arrays.
    """

    def __init__(self, eval_env: Any, *, use_masking: bool, replace_level: float = 0.05,
                 **kwargs: Any) -> None:
        super().__init__(eval_env, use_masking=use_masking, **kwargs)
        self.evaluations_cost: list[list[float]] = []
        self.replace_level = replace_level
        self.best_cost = np.inf
        self.best_costs: np.ndarray | None = None
        self.best_timesteps = 0

    def _on_training_start(self) -> None:
        self._evaluate()

    def _on_step(self) -> bool:
        if self.eval_freq > 0 and self.n_calls % self.eval_freq == 0:
            self._evaluate()
        return True

    def _evaluate(self) -> None:
        self.eval_env.env_method("rewind")
        costs: list[float] = []

        def grab_cost(locals_: dict[str, Any], _globals: dict[str, Any]) -> None:
            if locals_["done"]:
                info = locals_["info"]  # the Lagrangian cost where misses are priced
                costs.append(float(info.get("objective_cost_per_hour", info["cost_per_hour"])))

        common = dict(n_eval_episodes=self.n_eval_episodes, deterministic=self.deterministic,
                      return_episode_rewards=True, warn=self.warn, callback=grab_cost)
        if self.use_masking:
            rewards, lengths = evaluate_masked(self.model, self.eval_env, use_masking=True,
                                               **common)
        else:
            rewards, lengths = evaluate_policy(self.model, self.eval_env, **common)
        self.evaluations_timesteps.append(self.num_timesteps)
        self.evaluations_results.append(list(rewards))
        self.evaluations_length.append(list(lengths))
        self.evaluations_cost.append(costs)
        if self.log_path is not None:
            np.savez(self.log_path, timesteps=self.evaluations_timesteps,
                     results=self.evaluations_results, ep_lengths=self.evaluations_length,
                     cost_per_hour=self.evaluations_cost)
        mean_cost = float(np.mean(costs))
        self.last_mean_reward = float(np.mean(rewards))
        self.logger.record("eval/mean_reward", self.last_mean_reward)
        self.logger.record("eval/cost_per_hour", mean_cost)
        self.logger.record("eval/mean_ep_length", float(np.mean(lengths)))
        if self.verbose > 0:
            print(f"eval at {self.num_timesteps} steps: cost/h {mean_cost:.2f} "
                  f"(kept so far: {self.best_cost:.2f})")
        if self._clearly_better(np.asarray(costs)):
            self.best_cost, self.best_costs = mean_cost, np.asarray(costs)
            self.best_timesteps = self.num_timesteps
            self.best_mean_reward = self.last_mean_reward
            if self.best_model_save_path is not None:
                self.model.save(os.path.join(self.best_model_save_path, "best_model"))

    def _clearly_better(self, costs: np.ndarray) -> bool:
        if self.best_costs is None:
            return True
        diff = costs - self.best_costs
        if diff.mean() >= 0:
            return False
        if len(diff) < 2 or diff.std(ddof=1) == 0:
            return True
        from scipy import stats

        return float(stats.ttest_1samp(diff, 0.0, alternative="less").pvalue) < self.replace_level
