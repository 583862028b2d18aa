"""A trained stable-baselines3 model as a routing policy (`--policy model:PATH`).

The model sees the observation `sim.env.ObservationBuilder` makes, the very
code the env used in training, and decides deterministically with the
action mask. A model trained with a hint (config.yaml `env.hint`) also sees
its teacher's choice: the teacher.json beside it, or a heuristic by name.
Model files are pickles: load only files you trust.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.errors import PolicyError
from sim.decision import DecisionView, Policy
from sim.env import decision_mask, feasible_or_fallback
from sim.observation import ObservationBuilder, hint_names
from sim.scenario import Scenario

_MODULES = {  # the policy class's module in the zip -> algorithm
    "sb3_contrib.common.maskable.policies": "maskable_ppo",
    "stable_baselines3.common.policies": "ppo",
    "stable_baselines3.dqn.policies": "dqn",
}


class ModelPolicy:
    """Routes with a trained SB3 model; infeasible choices of unmasked models fall back."""

    name = "model"
    non_idling = False

    def __init__(self, model: Any, observe: ObservationBuilder, *, masked: bool,
                 fallback: Policy | None, work_conserving: bool = False) -> None:
        self.model, self.observe, self.masked, self.fallback = model, observe, masked, fallback
        self.work_conserving = work_conserving
        self.n_actions = int(model.action_space.n)

    def reset(self, view: DecisionView, rng: np.random.Generator) -> None:
        if self.fallback is not None:
            self.fallback.reset(view, rng)

    def decide(self, view: DecisionView, pairs: Sequence[int]) -> int:
        if self.work_conserving and len(pairs) == 1:
            return pairs[0]  # trained without HOLD: the env carried these out itself
        obs = self.observe(view, pairs)  # the running SupportModel is the view
        mask = decision_mask(view, pairs, work_conserving=self.work_conserving)
        if self.masked:
            action, _ = self.model.predict(obs, deterministic=True, action_masks=mask)
        else:
            action, _ = self.model.predict(obs, deterministic=True)
        return feasible_or_fallback(view, int(action), mask, pairs, self.fallback)


def load_model_policy(path: str | Path, scenario: Scenario, *, force: bool = False) -> ModelPolicy:
    """The policy of a model.zip written by `routelab train` (or its folder).

    Raises PolicyError (one line) for a missing, unreadable or mismatched model:
    a model trained on another scenario, or on another version of this one
    (config.yaml's scenario_sha256), is refused unless `force`, as tables are.
    The zip holds pickled objects: load only files you trust.
    """
    zip_path = _model_file(Path(path))
    config = _read_config(zip_path)
    algo = config.get("algo") or _algo_in_zip(zip_path)
    hinted = (config.get("env") or {}).get("hint") is not None
    names = ObservationBuilder(scenario).names + (hint_names(scenario) if hinted else [])
    features = (config.get("env") or {}).get("features")
    if features is not None and list(features) != names:
        raise PolicyError(f"model:{path}: trained on features of scenario "
                          f"{config.get('scenario')!r}, which differ from {scenario.name!r}'s")
    trained_on = config.get("scenario_sha256")
    if trained_on is not None and trained_on != scenario.sha256() and not force:
        raise PolicyError(
            f"model:{path}: scenario_sha256: trained on scenario {config.get('scenario')!r} "
            f"({trained_on[:12]}...), not on this version of {scenario.name!r} "
            f"({scenario.sha256()[:12]}...); pass --force to use it anyway")
    observe = ObservationBuilder(scenario, _hint(zip_path, config, scenario, force))
    model = _load(zip_path, algo)
    expected = (len(observe.names),)
    n_actions = len(scenario.ticket_types) * len(scenario.agent_groups) + 1
    if model.observation_space.shape != expected or int(model.action_space.n) != n_actions:
        raise PolicyError(
            f"model:{path}: expects {model.observation_space.shape[0]} features and "
            f"{model.action_space.n} actions; scenario {scenario.name} has {expected[0]} "
            f"and {n_actions}")
    fallback_name = (config.get("env") or {}).get("fallback")
    from agents.heuristics import HEURISTICS

    fallback = HEURISTICS[fallback_name]() if fallback_name in HEURISTICS else None
    work_conserving = bool((config.get("env") or {}).get("work_conserving", False))
    return ModelPolicy(model, observe, masked=algo == "maskable_ppo", fallback=fallback,
                       work_conserving=work_conserving)


def _hint(zip_path: Path, config: dict[str, Any], scenario: Scenario, force: bool):
    """The rule named by config.yaml's `env.hint`, or None."""
    name = (config.get("env") or {}).get("hint")
    if name is None:
        return None
    from agents.heuristics import HEURISTICS

    if name in HEURISTICS:
        return HEURISTICS[name]()
    if Path(name).name != name or not name.endswith(".json"):
        raise PolicyError(f"model:{zip_path}: config.yaml: env.hint: expected a heuristic or a "
                          f"rule file beside the model, got {name!r}")
    from agents.index.rule import load_index_rule

    return load_index_rule(zip_path.with_name(name), scenario, force=force)


def _model_file(path: Path) -> Path:
    candidate = path / "model.zip" if path.is_dir() else path
    if not candidate.is_file():
        raise PolicyError(f"model:{path}: no such model file")
    return candidate


# The fields of config.yaml a model policy reads, and the types they must have.
_CONFIG_FIELDS: dict[str, tuple[type, ...]] = {
    "scenario": (str,), "scenario_sha256": (str,), "algo": (str,), "env": (dict,)}
_ENV_FIELDS: dict[str, tuple[type, ...]] = {
    "features": (list,), "fallback": (str,), "work_conserving": (bool,), "hint": (str,)}


def _read_config(zip_path: Path) -> dict[str, Any]:
    """config.yaml beside the model ({} if there is none); anything wrong is one line."""
    config_path = zip_path.with_name("config.yaml")
    if not config_path.is_file():
        return {}

    def fail(message: str) -> PolicyError:
        return PolicyError(f"model:{zip_path}: {config_path.name}: {message}")

    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise fail(f"cannot read ({error.strerror or error})") from None
    except yaml.YAMLError as error:
        raise fail(f"not valid YAML ({_yaml_problem(error)})") from None
    except (RecursionError, ValueError) as error:  # nested too deep; not UTF-8
        raise fail(f"not valid YAML ({type(error).__name__})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise fail(f"expected a mapping of training settings, got {type(data).__name__}")
    for fields, block, where in ((_CONFIG_FIELDS, data, ""), (_ENV_FIELDS, data.get("env"), "env.")):
        if not isinstance(block, dict):
            continue
        for name, types in fields.items():
            value = block.get(name)
            if value is not None and not isinstance(value, types):
                raise fail(f"{where}{name}: expected {types[0].__name__}, "
                           f"got {type(value).__name__}")
    features = (data.get("env") or {}).get("features") or []
    if not all(isinstance(f, str) for f in features):
        raise fail("env.features: expected a list of feature names")
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A PyYAML error (several lines with a caret) as a short phrase with its line."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())


def _algo_in_zip(zip_path: Path) -> str:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            data = json.loads(archive.read("data"))
        module = data["policy_class"]["__module__"]
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
        raise PolicyError(
            f"model:{zip_path}: not a stable-baselines3 model file ({error})") from None
    if module not in _MODULES:
        raise PolicyError(f"model:{zip_path}: unknown policy class module {module}")
    return _MODULES[module]


def _load(zip_path: Path, algo: str) -> Any:
    from agents.rl.config import ALGOS
    from agents.rl.training import algorithm_class

    if algo not in ALGOS:
        raise PolicyError(f"model:{zip_path}: unknown algorithm {algo!r}")
    # The buffer and schedules are training machinery: not needed to decide.
    custom = {"rollout_buffer_class": None, "rollout_buffer_kwargs": {}}
    try:
        return algorithm_class(algo).load(zip_path, device="cpu", custom_objects=custom)
    except Exception as error:  # noqa: BLE001 - any failure to unpickle is the file's fault
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PolicyError(f"model:{zip_path}: cannot load the model ({message})") from None
