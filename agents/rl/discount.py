"""Elapsed-time discounting for SB3's on-policy algorithms.

Decisions are not evenly spaced: at a peak an operation takes several per
minute, at night one every few minutes. SB3 discounts by a constant gamma per
step; here step k is discounted by 0.5 ** (elapsed_k / half_life_minutes), so
a cost one hour ahead weighs the same whatever the decision rate in between
(the semi-Markov discount). The env reports each step's simulated minutes in
`info["elapsed_minutes"]`; `RecordElapsed` copies them into the buffer.
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


class _ElapsedTimeGAE:
    """GAE(lambda) with a per-step discount; mixed into an SB3 rollout buffer."""

    half_life_minutes: float
    elapsed: np.ndarray

    def _init_elapsed(self, half_life_minutes: float) -> None:
        self.half_life_minutes = half_life_minutes
        self.elapsed = np.zeros((self.buffer_size, self.n_envs), dtype=np.float64)

    def compute_returns_and_advantage(self, last_values: th.Tensor, dones: np.ndarray) -> None:
        last = last_values.clone().cpu().numpy().flatten()
        gammas = step_discount(self.elapsed, self.half_life_minutes)
        advantage = np.zeros(self.n_envs, dtype=np.float64)
        for step in reversed(range(self.buffer_size)):
            if step == self.buffer_size - 1:
                next_non_terminal = 1.0 - dones.astype(np.float64)
                next_values = last
            else:
                next_non_terminal = 1.0 - self.episode_starts[step + 1]
                next_values = self.values[step + 1]
            gamma = gammas[step]
            delta = self.rewards[step] + gamma * next_values * next_non_terminal - self.values[step]
            advantage = delta + gamma * self.gae_lambda * next_non_terminal * advantage
            self.advantages[step] = advantage
        self.returns = self.advantages + self.values


class TimedRolloutBuffer(_ElapsedTimeGAE, RolloutBuffer):
    def __init__(self, *args, half_life_minutes: float = 60.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_elapsed(half_life_minutes)


class TimedMaskableRolloutBuffer(_ElapsedTimeGAE, MaskableRolloutBuffer):
    def __init__(self, *args, half_life_minutes: float = 60.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_elapsed(half_life_minutes)


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
