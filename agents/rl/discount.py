"""Elapsed-time discounting for SB3's on-policy algorithms.

Decisions are not evenly spaced: at a peak an operation takes several per
minute, at night one every few minutes. SB3 discounts by a constant gamma per
step; here step k is discounted by 0.5 ** (elapsed_k / half_life_minutes), so
a cost one hour ahead weighs the same whatever the decision rate in between
(the semi-Markov discount). The env reports each step's simulated minutes in
`info["elapsed_minutes"]`; `RecordElapsed` copies them into the buffer.

Average cost (relative values, as Dai and Gluzman's PPO for queueing
networks): with `average_cost`, the buffer subtracts from each step's reward
a running average reward per simulated minute times the step's minutes
before GAE. The values then measure how much better or worse than average a
state is (a relative value function) instead of the large discounted cost
every state carries, and a long half-life no longer inflates them. The
running average is updated once per rollout from the rollout itself
(`relative_rewards`).
"""

from __future__ import annotations

import numpy as np
import torch as th
from sb3_contrib.common.maskable.buffers import MaskableRolloutBuffer
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback


def step_discount(elapsed_minutes: np.ndarray | float, half_life_minutes: float) -> np.ndarray:
    """The discount factor of a step that took `elapsed_minutes` of simulated time."""
    return np.power(0.5, np.asarray(elapsed_minutes, dtype=np.float64) / half_life_minutes)


def relative_rewards(rewards: np.ndarray, elapsed: np.ndarray, rate: float | None,
                     smoothing: float) -> tuple[np.ndarray, float]:
    """Rewards less the average reward per minute times each step's minutes, and that
    average: the running `rate` moved by `smoothing` towards this batch's own rate
    (the batch's alone when `rate` is None, the first batch)."""
    minutes = float(np.sum(elapsed))
    batch_rate = float(np.sum(rewards)) / minutes if minutes > 0 else 0.0
    rate = batch_rate if rate is None else rate + smoothing * (batch_rate - rate)
    return rewards - rate * elapsed, rate


class _ElapsedTimeGAE:
    """GAE(lambda) with a per-step discount; mixed into an SB3 rollout buffer."""

    half_life_minutes: float
    elapsed: np.ndarray
    average_cost: bool
    rate: float | None
    """The running average reward per minute (average_cost; None before the first rollout)."""

    def _init_elapsed(self, half_life_minutes: float, average_cost: bool,
                      smoothing: float) -> None:
        self.half_life_minutes = half_life_minutes
        self.elapsed = np.zeros((self.buffer_size, self.n_envs), dtype=np.float64)
        self.average_cost, self.smoothing, self.rate = average_cost, smoothing, None

    def compute_returns_and_advantage(self, last_values: th.Tensor, dones: np.ndarray) -> None:
        last = last_values.clone().cpu().numpy().flatten()
        gammas = step_discount(self.elapsed, self.half_life_minutes)
        rewards = self.rewards
        if self.average_cost:
            rewards, self.rate = relative_rewards(rewards, self.elapsed, self.rate,
                                                  self.smoothing)
        advantage = np.zeros(self.n_envs, dtype=np.float64)
        for step in reversed(range(self.buffer_size)):
            if step == self.buffer_size - 1:
                next_non_terminal = 1.0 - dones.astype(np.float64)
                next_values = last
            else:
                next_non_terminal = 1.0 - self.episode_starts[step + 1]
                next_values = self.values[step + 1]
            gamma = gammas[step]
            delta = rewards[step] + gamma * next_values * next_non_terminal - self.values[step]
            advantage = delta + gamma * self.gae_lambda * next_non_terminal * advantage
            self.advantages[step] = advantage
        self.returns = self.advantages + self.values


class TimedRolloutBuffer(_ElapsedTimeGAE, RolloutBuffer):
    def __init__(self, *args, half_life_minutes: float = 60.0, average_cost: bool = False,
                 average_cost_smoothing: float = 0.3, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_elapsed(half_life_minutes, average_cost, average_cost_smoothing)


class TimedMaskableRolloutBuffer(_ElapsedTimeGAE, MaskableRolloutBuffer):
    def __init__(self, *args, half_life_minutes: float = 60.0, average_cost: bool = False,
                 average_cost_smoothing: float = 0.3, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_elapsed(half_life_minutes, average_cost, average_cost_smoothing)


class RecordElapsed(BaseCallback):
    """Store each step's simulated minutes where the buffer is about to put the step.

    SB3 calls `on_step` after `env.step` and before `rollout_buffer.add`, so
    `rollout_buffer.pos` is the row of this step.
    """

    def _on_step(self) -> bool:
        buffer = self.model.rollout_buffer
        if isinstance(buffer, _ElapsedTimeGAE) and buffer.pos < buffer.buffer_size:
            buffer.elapsed[buffer.pos] = [info.get("elapsed_minutes", 0.0)
                                          for info in self.locals["infos"]]
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        if isinstance(buffer, _ElapsedTimeGAE) and buffer.average_cost and buffer.rate is not None:
            self.logger.record("train/average_reward_per_minute", buffer.rate)
