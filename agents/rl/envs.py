"""The env as stable-baselines3 trains on it: wrappers, vector envs, day seeds.

Training days draw their model seeds from the env's generator; evaluation
during training replays a fixed list of held-out days; final comparisons use
seeds 0..N-1 as `routelab simulate` does (the rules: sim/seeds.py).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecEnvWrapper

from agents.heuristics import HEURISTICS
from sim.env import SupportQueueEnv
from sim.scenario import Scenario


class DayEndIsTerminal(gym.Wrapper):
    """Report the end of the day as `terminated`: after the drain nothing costs anything.

    The env says `truncated` (the contract: the horizon ends the episode), and
    SB3 then bootstraps from the value of the final state; but that state has
    a true cost-to-go of exactly zero, so for learning it is terminal.
    """

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated or truncated, False, info


class StepTimer(gym.Wrapper):
    """Adds up the wall and CPU time spent in the env's reset and step."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.step_seconds = 0.0
        self.step_cpu_seconds = 0.0

    def _timed(self, call: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        self.step_seconds += time.perf_counter() - wall
        self.step_cpu_seconds += time.process_time() - cpu
        return result

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        return self._timed(lambda: self.env.reset(**kwargs))

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        return self._timed(lambda: self.env.step(action))


class SlaPenalty(gym.Wrapper):
    """Charge every missed ticket its type's price in the reward (objective sla).

    A miss is charged once, when it becomes certain (agents/sla.py `MissCounter`),
    scaled like the env's cost (`reward_scale / cost_unit`). The last step's
    info adds `objective_cost_per_hour`: cost per hour plus the day's counted
    misses per hour at their prices, the figure the tuned rule minimised.
    """

    def __init__(self, env: gym.Env, multipliers: Sequence[float], reward_scale: float) -> None:
        super().__init__(env)
        self.multipliers = [float(m) for m in multipliers]
        self._factor = reward_scale / env.unwrapped.cost_unit
        self._counter = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        from agents.sla import MissCounter, sla_targets

        obs, info = self.env.reset(**kwargs)
        base = self.env.unwrapped
        self._counter = MissCounter(base.model, sla_targets(base.scenario))
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        from agents.sla import day_result, lagrangian_per_hour

        obs, reward, terminated, truncated, info = self.env.step(action)
        misses = self._counter.new_misses()
        reward -= self._factor * sum(p * m for p, m in zip(self.multipliers, misses, strict=True))
        if truncated and "cost_per_hour" in info:
            info["objective_cost_per_hour"] = lagrangian_per_hour(
                [day_result(self.env.unwrapped.model)], self.multipliers)
        return obs, float(reward), terminated, truncated, info


class FixedDays(gym.Wrapper):
    """Replay a fixed list of model seeds, in order, one per reset (evaluation days)."""

    def __init__(self, env: gym.Env, model_seeds: Sequence[int]) -> None:
        super().__init__(env)
        self.model_seeds = list(model_seeds)
        self._next = 0

    def rewind(self) -> None:
        self._next = 0

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        day = self.model_seeds[self._next % len(self.model_seeds)]
        self._next += 1
        return self.env.reset(seed=seed, options={**(options or {}), "model_seed": day})


class VecMaskCache(VecEnvWrapper):
    """Answer `action_masks` from the masks the envs already put in their infos.

    sb3-contrib asks every env for its mask after every step (`env_method`),
    one more round trip to each worker process; the mask is already in the
    step's info (or, after an automatic reset, in the reset info).
    """

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self._masks: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        obs = self.venv.reset()
        self._masks = np.stack([info["action_mask"] for info in self.venv.reset_infos])
        return obs

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, dones, infos = self.venv.step_wait()
        self._masks = np.stack([
            self.venv.reset_infos[i]["action_mask"] if done else info["action_mask"]
            for i, (done, info) in enumerate(zip(dones, infos, strict=True))])
        return obs, rewards, dones, infos

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None,
                   **method_kwargs: Any) -> list[Any]:
        if method_name == "action_masks" and indices is None and self._masks is not None:
            return list(self._masks)
        return self.venv.env_method(method_name, *method_args, indices=indices, **method_kwargs)


def fallback_policy(name: str | None):
    """The heuristic that replaces infeasible actions (None: the env's built-in rule)."""
    return HEURISTICS[name]() if name else None


def env_factory(scenario: Scenario, *, fallback: str | None, reward_scale: float,
                work_conserving: bool = False, eval_days: Sequence[int] | None = None,
                single_thread: bool = True, multipliers: Sequence[float] | None = None,
                hint: Any = None) -> Callable[[], gym.Env]:
    """A maker of one training (or, with `eval_days`, evaluation) env.

    Training envs are seeded by SB3 (`VecEnv.seed(seed)` gives env i seed + i).
    With `multipliers` (objective sla) every missed ticket is also charged its price;
    with a `hint` rule the observation ends with its choice (sim/observation.py).
    """

    def make() -> gym.Env:
        if single_thread:
            import torch

            torch.set_num_threads(1)  # workers share 2 cores with the learner
        env: gym.Env = StepTimer(SupportQueueEnv(scenario, fallback=fallback_policy(fallback),
                                                 reward_scale=reward_scale,
                                                 work_conserving=work_conserving,
                                                 hint=copy.deepcopy(hint)))
        if multipliers is not None:
            env = SlaPenalty(env, multipliers, reward_scale)
        if eval_days is not None:
            env = FixedDays(env, eval_days)
        return Monitor(DayEndIsTerminal(env))

    return make


def make_vec_env(makers: list[Callable[[], gym.Env]], kind: str) -> VecEnv:
    """`subproc` runs each env in its own process; `dummy` runs them in this one."""
    if kind == "subproc" and len(makers) > 1:
        venv: VecEnv = SubprocVecEnv(makers, start_method="fork")
    else:
        venv = DummyVecEnv(makers)
    return VecMaskCache(venv)
