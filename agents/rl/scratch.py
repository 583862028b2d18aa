"""Learning without a teacher: standardised observations inside the network.

The env's features all lie in [0, 1] (sim/observation.py), but most use a
small part of it: on n_model a queue of one ticket is 0.10 and the spread
of the queue features is ~0.07, while the clock features (of no use on a
scenario with constant rates) span [-1, 1]. A network learning from scratch
then sees mostly the clock. `Standardize`, the first layer of the policy and
value networks, divides every feature by its spread on the best heuristic's
days (the demonstrations `train` collects anyway, for the reward scale).
Measured on keep_free (experiments/scratch_table.py, 300,000 steps): 142.9
per hour without, 134.2 with, the optimum on every one of seeds 0..9.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from agents.errors import TrainingConfigError
from agents.rl.config import TrainConfig

STD_FLOOR = 0.05
"""Smallest spread a feature is divided by: a feature nearly constant on the best
heuristic's days (a rate that only drops after the horizon) is not blown up."""
CLIP = 10.0


class Standardize(BaseFeaturesExtractor):
    """(obs - mean) / std per feature, clipped to +-10: the first layer of the network.

    The env's features lie in [0, 1] but use a small part of it (a queue of one
    ticket is 0.1, of ten 0.35) while the clock features span [-1, 1]; divided
    by their spread on the best heuristic's days, every feature counts alike
    from the first update. The mean and spread are fixed before learning and
    saved with the model (policy_kwargs), so `model:PATH` applies them too.
    """

    def __init__(self, observation_space: spaces.Box, mean: list[float],
                 std: list[float]) -> None:
        super().__init__(observation_space, int(np.prod(observation_space.shape)))
        self.register_buffer("mean", th.as_tensor(mean, dtype=th.float32))
        self.register_buffer("scale", 1.0 / th.as_tensor(std, dtype=th.float32))

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return th.clamp((observations.flatten(1) - self.mean) * self.scale, -CLIP, CLIP)


EXTRACTORS = {"standardize": Standardize}


def observation_statistics(observations: np.ndarray) -> dict[str, list[float]]:
    """Per-feature mean and spread (floored at STD_FLOOR) of observed states."""
    obs = np.asarray(observations, dtype=np.float64)
    return {"mean": [round(float(v), 6) for v in obs.mean(axis=0)],
            "std": [round(float(v), 6) for v in np.maximum(obs.std(axis=0), STD_FLOOR)]}


def standardized(config: TrainConfig, observations: np.ndarray) -> TrainConfig:
    """The configuration with its policy standardising observations (if it asks to)."""
    if not config.standardize_observations:
        return config
    kwargs = {**config.policy_kwargs, "features_extractor_class": "standardize",
              "features_extractor_kwargs": observation_statistics(observations)}
    return replace(config, policy_kwargs=kwargs)


def policy_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """policy_kwargs for SB3: a features extractor named in the configuration as its class."""
    name = kwargs.get("features_extractor_class")
    if not isinstance(name, str):
        return dict(kwargs)
    if name not in EXTRACTORS:
        raise TrainingConfigError(f"policy_kwargs.features_extractor_class: unknown {name!r} "
                                  f"(known: {', '.join(EXTRACTORS)})")
    return {**kwargs, "features_extractor_class": EXTRACTORS[name]}


SCHEDULED = ("learning_rate", "clip_range")
"""algo_kwargs that may be written `{linear: [start, end]}`: falling linearly from start
to end over the run (SB3's LinearSchedule), as Dai and Gluzman decay their clip range."""


def algo_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """algo_kwargs for SB3: `{linear: [start, end]}` values as schedules."""
    from stable_baselines3.common.utils import LinearSchedule

    out = dict(kwargs)
    for key in SCHEDULED:
        value = out.get(key)
        if not isinstance(value, dict):
            continue
        ends = value.get("linear")
        if (set(value) != {"linear"} or not isinstance(ends, list) or len(ends) != 2
                or not all(isinstance(v, int | float) and v > 0 for v in ends)):
            raise TrainingConfigError(f"algo_kwargs.{key}: a number or {{linear: [start, end]}} "
                                      f"with two positive numbers, got {value!r}")
        out[key] = LinearSchedule(float(ends[0]), float(ends[1]), 1.0)
    return out
